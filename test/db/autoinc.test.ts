import { expect } from "chai";
import { answeredAndStored, createPartner, rfiInput } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startOwnMariaDb, type OwnMariaDb } from "../support/mariadb.js";

const SUBMIT = `mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } referrals { id partner { id } profile { id } } } }`;

interface Answer {
  rfi: { id: string };
  referrals: { id: string; partner: { id: string }; profile: { id: string } }[];
}

// MySQL 8.4 hands out AUTO_INCREMENT keys in "interleaved" mode (2), where MariaDB's default is 1: a
// multi-row INSERT (entity-rows.ts) must still get consecutive keys there, under concurrent inserts.
describe("db > multi-row inserts under innodb_autoinc_lock_mode 2 (MySQL 8.4's default)", function () {
  this.timeout(120_000);
  let database: OwnMariaDb;
  let server: TestServer;

  before(async () => {
    database = await startOwnMariaDb(["--innodb-autoinc-lock-mode=2"]);
    server = await startTestServer({ DATABASE_URL: database.url("autoinc") });
  });

  after(async () => {
    await server?.stop();
    await database?.stop();
  });

  it("answers each of 60 concurrent RFIs with the referrals stored for it", async () => {
    const [{ mode }] = await server.db.query("SELECT @@innodb_autoinc_lock_mode AS mode");
    expect(Number(mode)).to.equal(2);
    for (const keywords of [["erp"], ["erp", "sap"], ["erp", "sap", "cloud"]])
      await createPartner(server, undefined, { region: "FR", keywords });
    const answers = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const { submitRfi } = await server.admin.data<{ submitRfi: Answer }>(SUBMIT, {
          input: rfiInput({ region: "FR", keywords: ["erp", "sap", "cloud"], maxPartners: 3 }),
        });
        return submitRfi;
      }),
    );
    const { answered, stored } = await answeredAndStored(server, answers);
    expect(answered).to.have.length(180);
    expect(answered).to.deep.equal(stored);
  });
});
