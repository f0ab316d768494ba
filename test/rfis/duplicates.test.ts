import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import { createPartner, issueKey, submitRfi, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";

const DUPLICATES = `query($id: ID!) { rfi(id: $id) { id possibleDuplicates { id } } }`;

describe("routing > possible duplicates", function () {
  this.timeout(60_000);
  const server = useTestServer({ DUPLICATE_WINDOW: "30d" });
  let intake: GraphQLClient;
  let partner: TestPartner;

  before(async () => {
    intake = await issueKey(server.current, "INTAKE");
    partner = await createPartner(server.current, undefined, { region: "FR" });
    await createPartner(server.current, undefined, { region: "BE" });
  });

  async function submitted(customerEmail: string, region = "FR"): Promise<string> {
    const other = region === "FR" ? partner.id : undefined;
    return (await submitRfi(intake, { customerEmail, region, partnerIds: other ? [other] : undefined })).rfiId;
  }

  async function duplicatesOf(id: string): Promise<string[]> {
    const { rfi } = await intake.data(DUPLICATES, { id });
    return rfi.possibleDuplicates.map((duplicate: { id: string }) => duplicate.id);
  }

  async function submittedDaysAgo(id: string, days: number): Promise<void> {
    await server.current.db.query("UPDATE rfis SET submitted_at = NOW(3) - INTERVAL ? DAY WHERE id = ?", [days, id]);
  }

  it("pairs RFIs with the same e-mail whatever its case, both ways, newest first", async () => {
    const first = await submitted("Ann.Lee@Fabrikam-Dup.example");
    const second = await submitted("ann.lee@fabrikam-dup.example");
    const third = await submitted("ANN.LEE@FABRIKAM-DUP.EXAMPLE");
    expect(await duplicatesOf(first)).to.deep.equal([third, second]);
    expect(await duplicatesOf(third)).to.deep.equal([second, first]);
  });

  it("pairs RFIs from the same company domain in the same region, not in another region", async () => {
    const ann = await submitted("ann@contoso-dup.example");
    const bob = await submitted("bob@contoso-dup.example");
    const elsewhere = await submitted("carl@contoso-dup.example", "BE");
    expect(await duplicatesOf(ann)).to.deep.equal([bob]);
    expect(await duplicatesOf(elsewhere)).to.deep.equal([]);
  });

  it("never pairs two customers of a public mailbox provider by its domain", async () => {
    const ann = await submitted("ann.dup@gmail.com");
    await submitted("bob.dup@gmail.com");
    expect(await duplicatesOf(ann)).to.deep.equal([]);
  });

  it("pairs only RFIs within DUPLICATE_WINDOW of each other, before or after", async () => {
    const old = await submitted("dana@window-dup.example");
    const recent = await submitted("dana@window-dup.example");
    await submittedDaysAgo(old, 31);
    expect(await duplicatesOf(recent)).to.deep.equal([]);
    expect(await duplicatesOf(old)).to.deep.equal([]);
    await submittedDaysAgo(old, 29);
    expect(await duplicatesOf(recent)).to.deep.equal([old]);
    expect(await duplicatesOf(old)).to.deep.equal([recent]);
  });

  it("finds them through an index of e-mails or domains, never a scan of the RFIs", async () => {
    const id = await submitted("eve@index-dup.example");
    const [rfi] = await server.current.db.query("SELECT submitted_at AS at FROM rfis WHERE id = ?", [id]);
    for (const [sql, parameters] of [
      ["SELECT id FROM rfis f WHERE f.customer_email_normalised = ? AND f.submitted_at BETWEEN ? AND ?", ["eve@index-dup.example"]],
      [
        "SELECT id FROM rfis f WHERE f.customer_domain = ? AND f.region = ? AND f.submitted_at BETWEEN ? AND ?",
        ["index-dup.example", "FR"],
      ],
    ] as const) {
      const [plan] = await server.current.db.query(`EXPLAIN ${sql}`, [...parameters, rfi.at, rfi.at]);
      expect(plan.key, sql).to.be.oneOf(["ix_rfis_customer_email", "ix_rfis_customer_domain"]);
      expect(plan.type, sql).to.not.equal("ALL");
    }
  });

  it("is refused to a PARTNER key", async () => {
    const id = await submitted("frank@partner-dup.example");
    const refused = await partner.api.error(DUPLICATES, { id });
    expect(refused.code).to.equal("FORBIDDEN");
  });
});
