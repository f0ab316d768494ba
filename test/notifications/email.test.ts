import { expect } from "chai";
import {
  createPartner,
  expectTablesUnchanged,
  rfiInput,
  snapshotTables,
  submitRfi,
  uniqueName,
  type TestPartner,
} from "../support/fixtures.js";
import { startEmptyServer, startTestServer, type TestServer } from "../support/harness.js";
import { TestSmtpServer, type ReceivedMail } from "../support/smtp.js";
import { eventually } from "../support/wait.js";

const CUSTOMER = { company: "Fabrikam", contact: "Ann Lee", email: "ann@fabrikam.example", phone: "+33 1 23 45 67 89" };

/** The outbox rows of a referral, as the database holds them. */
async function outboxOf(
  server: TestServer,
  referralId: string,
): Promise<{ kind: string; status: string; attempts: number; recipient: string }[]> {
  return server.db.query("SELECT kind, status, attempts, recipient FROM outbox_messages WHERE referral_id = ? ORDER BY id", [referralId]);
}

async function mailTo(smtp: TestSmtpServer, address: string, count = 1): Promise<ReceivedMail[]> {
  await eventually(`${count} e-mail(s) reach ${address}`, async () => smtp.to(address).length >= count);
  return smtp.to(address);
}

const contact = () => `${uniqueName("contact").replace(/\W+/g, "-")}@partner.example`;

describe("notifications > e-mails through SMTP", () => {
  let smtp: TestSmtpServer;
  let mailing: TestServer;
  before(async function () {
    this.timeout(60_000);
    smtp = await TestSmtpServer.start();
    mailing = await startEmptyServer({
      SMTP_URL: smtp.url,
      NOTIFY_RETRY_SCHEDULE: "300ms,300ms",
      PUBLIC_URL: "https://referrals.example.com",
    });
  });
  after(async () => {
    await mailing?.stop();
    await smtp?.stop();
  });

  let partner: TestPartner;
  let address: string;
  beforeEach(async () => {
    address = contact();
    partner = await createPartner(mailing, undefined, { contactEmail: address });
  });

  it("alerts the profile's contact of a new referral: overview, deadline, link, and never who the customer is", async () => {
    const { referralIds } = await submitRfi(mailing.admin, {
      partnerIds: [partner.id],
      need: "Move our ERP to the cloud",
      keywords: ["cloud", "erp"],
    });
    const [mail] = await mailTo(smtp, address);
    expect(mail.subject).to.equal("New referral: Move our ERP to the cloud");
    expect(mail.from).to.equal('"Partner referrals" <referrals@localhost>');
    const [{ id }] = await mailing.db.query("SELECT CAST(id AS CHAR) AS id FROM outbox_messages WHERE referral_id = ?", [referralIds[0]]);
    expect(mail.messageId).to.equal(`<notification-${id}@localhost>`);
    for (const body of [mail.text, mail.html]) {
      expect(body).to.include("Move our ERP to the cloud").and.include("50 to 249 employees").and.include("Manufacturing");
      expect(body).to.include("cloud, erp").and.include("UTC");
      expect(body).to.include(`https://referrals.example.com/referrals/${referralIds[0]}`);
      for (const secret of Object.values(CUSTOMER)) expect(body).to.not.include(secret);
    }
    const [{ respondBy }] = await mailing.db.query("SELECT respond_by AS respondBy FROM referrals WHERE id = ?", [referralIds[0]]);
    const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(respondBy);
    expect(mail.text).to.include(day);
    await eventually("the alert is marked sent", async () => (await outboxOf(mailing, referralIds[0]))[0]?.status === "SUCCEEDED");
    expect(await outboxOf(mailing, referralIds[0])).to.deep.equal([
      { kind: "NEW_REFERRAL", status: "SUCCEEDED", attempts: 1, recipient: address },
    ]);
  });

  it("writes to a French contact in French, the deadline in French and in UTC", async () => {
    const french = contact();
    const partnerFr = await createPartner(mailing, undefined, { contactEmail: french, locale: "FR" });
    await submitRfi(mailing.admin, { partnerIds: [partnerFr.id], need: "Migrer notre ERP" });
    const [mail] = await mailTo(smtp, french);
    expect(mail.subject).to.equal("Nouvelle recommandation : Migrer notre ERP");
    expect(mail.text)
      .to.include("50 à 249 salariés")
      .and.match(/\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre) \d{4} à \d{2}:\d{2} UTC/);
  });

  it("tells the customer to choose another partner when the partner passes, naming others but never the one that passed nor why", async () => {
    // A region of their own: the suggestions are these partners.
    const passing = await createPartner(mailing, uniqueName("Contoso"), { region: "BE", contactEmail: contact() });
    const others = [
      await createPartner(mailing, uniqueName("Northwind"), { region: "BE" }),
      await createPartner(mailing, uniqueName("Tailspin"), { region: "BE" }),
    ];
    const customer = contact();
    const { referralIds } = await submitRfi(mailing.admin, {
      partnerIds: [passing.id],
      region: "BE",
      customerEmail: customer,
      locale: "FR",
    });
    await passing.api.data(`mutation($id: ID!) { ignoreReferral(id: $id, reason: "Too small for us") { id } }`, { id: referralIds[0] });
    const [mail] = await mailTo(smtp, customer);
    expect(mail.subject).to.equal("Choisissez un autre partenaire pour votre demande");
    for (const body of [mail.text, mail.html]) {
      expect(body).to.include("Ann Lee");
      for (const other of others) expect(body).to.include(other.name);
      expect(body).to.not.include(passing.name);
      expect(body).to.not.include("Too small for us");
    }
    expect((await outboxOf(mailing, referralIds[0])).map(({ kind }) => kind)).to.deep.equal(["NEW_REFERRAL", "CHOOSE_ANOTHER_PARTNER"]);
  });

  it("tells the customer once when an interested partner declines, and not at all when it accepts", async () => {
    const customer = contact();
    const { referralIds } = await submitRfi(mailing.admin, { partnerIds: [partner.id], customerEmail: customer });
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: referralIds[0] });
    await partner.api.data(`mutation($id: ID!) { declineReferral(id: $id) { id } }`, { id: referralIds[0] });
    const [mail] = await mailTo(smtp, customer);
    expect(mail.subject).to.equal("Choose another partner for your request");
    expect((await outboxOf(mailing, referralIds[0])).map(({ kind }) => kind)).to.deep.equal(["NEW_REFERRAL", "CHOOSE_ANOTHER_PARTNER"]);

    const accepted = (await submitRfi(mailing.admin, { partnerIds: [partner.id], customerEmail: customer })).referralIds[0];
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: accepted });
    await partner.api.data(
      `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "2099-01-01" }) { id } }`,
      { id: accepted },
    );
    // E-mails are derived once the events are placed (later, when these requests made a burst).
    await mailing.sequencer.settle();
    expect((await outboxOf(mailing, accepted)).map(({ kind }) => kind)).to.deep.equal(["NEW_REFERRAL"]);
  });

  it("writes no outbox row for a refused change, and none for a change rolled back after writing its events", async () => {
    const { referralIds } = await submitRfi(mailing.admin, { partnerIds: [partner.id] });
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: referralIds[0] });
    const before = await snapshotTables(mailing);
    expect((await partner.api.error(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: referralIds[0] })).code).to.equal(
      "INVALID_TRANSITION",
    );
    await expectTablesUnchanged(mailing, before);

    // The idempotency record is written after the referrals and their events: fail it there.
    await mailing.db.query(
      `CREATE TRIGGER test_fail_after_outbox BEFORE INSERT ON idempotency_records FOR EACH ROW
       SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: fails after the referrals are written'`,
    );
    try {
      const failed = await mailing.admin.request(`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } } }`, {
        input: rfiInput({ partnerIds: [partner.id], idempotencyKey: uniqueName("key") }),
      });
      expect(failed.errors?.[0].extensions?.code).to.equal("INTERNAL_SERVER_ERROR");
    } finally {
      await mailing.db.query("DROP TRIGGER test_fail_after_outbox");
    }
    await expectTablesUnchanged(mailing, before);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.to(address)).to.have.length(1);
  });

  it("marks an e-mail FAILED, with the server's answer, once its retries are used up", async () => {
    smtp.refuse = true;
    try {
      const { referralIds } = await submitRfi(mailing.admin, { partnerIds: [partner.id] });
      await eventually("the alert has failed for good", async () => (await outboxOf(mailing, referralIds[0]))[0]?.status === "FAILED");
      const { notifications } = await mailing.admin.data(
        `query($id: ID!) { notifications(referralId: $id) { edges { node { kind to status attempts sentAt lastError referral { id } } } } }`,
        { id: referralIds[0] },
      );
      const [{ node }] = notifications.edges;
      expect(node).to.deep.include({
        kind: "NEW_REFERRAL",
        to: address,
        status: "FAILED",
        attempts: 3,
        sentAt: null,
        referral: { id: referralIds[0] },
      });
      expect(node.lastError).to.include("550");
    } finally {
      smtp.refuse = false;
    }
    expect(smtp.to(address)).to.deep.equal([]);
  });

  it("lists e-mails newest first, by referral and status, a page at a time", async () => {
    const { referralIds } = await submitRfi(mailing.admin, { partnerIds: [partner.id] });
    await mailTo(smtp, address);
    const page = async (variables: Record<string, unknown>) =>
      (
        await mailing.admin.data(
          `query($first: Int, $after: String, $status: DeliveryStatus, $referralId: ID) {
           notifications(first: $first, after: $after, status: $status, referralId: $referralId) {
             edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }`,
          variables,
        )
      ).notifications;
    const first = await page({ first: 2 });
    expect(first.edges).to.have.length(2);
    expect(Number(first.edges[0].node.id)).to.be.greaterThan(Number(first.edges[1].node.id));
    expect(first.pageInfo.hasNextPage).to.equal(true);
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(Number(second.edges[0].node.id)).to.be.lessThan(Number(first.edges[1].node.id));
    await eventually("the alert is marked sent", async () => (await outboxOf(mailing, referralIds[0]))[0]?.status === "SUCCEEDED");
    expect((await page({ referralId: referralIds[0], status: "SUCCEEDED" })).edges).to.have.length(1);
    expect((await page({ referralId: referralIds[0], status: "FAILED" })).edges).to.deep.equal([]);
    expect((await mailing.admin.error(`{ notifications(after: "nope") { edges { cursor } } }`)).code).to.equal("BAD_USER_INPUT");
  });
});

describe("notifications > delivery when the mail server is down", () => {
  it("keeps the e-mail while the server is down, and delivers it once when it is back", async () => {
    const smtp = await TestSmtpServer.start();
    await smtp.stop();
    const server = await startTestServer({ SMTP_URL: smtp.url, NOTIFY_RETRY_SCHEDULE: "500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms" });
    try {
      const address = contact();
      const partner = await createPartner(server, undefined, { contactEmail: address });
      const { referralIds } = await submitRfi(server.admin, { partnerIds: [partner.id] });
      await eventually("a first attempt has failed", async () => Number((await outboxOf(server, referralIds[0]))[0]?.attempts) >= 1);
      expect((await outboxOf(server, referralIds[0]))[0].status).to.equal("PENDING");
      await smtp.start();
      const [mail] = await mailTo(smtp, address);
      await eventually("the alert is marked sent", async () => (await outboxOf(server, referralIds[0]))[0]?.status === "SUCCEEDED");
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(smtp.received.filter(({ messageId }) => messageId === mail.messageId)).to.have.length(1);
    } finally {
      await server.stop();
      await smtp.stop();
    }
  });
});
