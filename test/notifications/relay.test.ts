import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { simpleParser } from "mailparser";
import { createPartner, submitRfi, uniqueName } from "../support/fixtures.js";
import { TcpProxy } from "../operations/tcp-proxy.js";
import { testDatabase } from "../support/database.js";
import { startEmptyServer, startTestServer, type TestServer } from "../support/harness.js";
import { TestSmtpServer } from "../support/smtp.js";
import { eventually } from "../support/wait.js";

const contact = () => `${uniqueName("contact").replace(/\W+/g, "-")}@partner.example`;

async function statusesOf(server: TestServer, kind: string): Promise<string[]> {
  const rows: { status: string }[] = await server.db.query("SELECT status FROM outbox_messages WHERE kind = ? ORDER BY id", [kind]);
  return rows.map(({ status }) => status);
}

describe("notifications > the relay", () => {
  it("sends each e-mail once when two instances relay the same outbox", async function () {
    this.timeout(60_000);
    const smtp = await TestSmtpServer.start();
    const settings = { SMTP_URL: smtp.url };
    const first = await startEmptyServer(settings);
    const second = await startTestServer(settings);
    try {
      const partners = await Promise.all(Array.from({ length: 4 }, () => createPartner(first, undefined, { contactEmail: contact() })));
      // Arrivals on both instances: each relays what it wrote, and polls for the rest.
      const submissions = Array.from({ length: 40 }, (_, index) =>
        submitRfi((index % 2 === 0 ? first : second).admin, { partnerIds: [partners[index % 4].id] }),
      );
      await Promise.all(submissions);
      await eventually(
        "40 alerts are sent",
        async () => (await statusesOf(first, "NEW_REFERRAL")).filter((s) => s === "SUCCEEDED").length === 40,
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const ids = smtp.received.map(({ messageId }) => messageId);
      expect(ids).to.have.length(40);
      expect(new Set(ids).size).to.equal(40);
    } finally {
      await second.stop();
      await first.stop();
      await smtp.stop();
    }
  });

  it("writes each e-mail as a .eml file to MAIL_DIR when SMTP_URL is unset", async () => {
    const directory = join(tmpdir(), `partner-referrals-eml-${process.pid}-${Date.now()}`);
    const server = await startEmptyServer({ MAIL_DIR: directory });
    try {
      expect(server.mailer.directory).to.equal(directory);
      const address = contact();
      const partner = await createPartner(server, undefined, { contactEmail: address });
      await submitRfi(server.admin, { partnerIds: [partner.id], need: "A data platform for our plants" });
      await eventually("the alert is written", async () => (await statusesOf(server, "NEW_REFERRAL")).includes("SUCCEEDED"));
      const [{ id }] = await server.db.query("SELECT CAST(id AS CHAR) AS id FROM outbox_messages");
      expect(await readdir(directory)).to.deep.equal([`notification-${id}.eml`]);
      const mail = await simpleParser(await readFile(join(directory, `notification-${id}.eml`)));
      expect(mail.subject).to.equal("New referral: A data platform for our plants");
      expect(mail.messageId).to.equal(`<notification-${id}@localhost>`);
      expect(mail.text).to.include("A data platform for our plants");
      expect(mail.html).to.be.a("string").and.include("A data platform for our plants");
    } finally {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("notifications > a backlog's sweep", () => {
  it("holds the change feed (and the e-mails it derives) and the relay back while it runs, then places and sends everything", async function () {
    this.timeout(60_000);
    const smtp = await TestSmtpServer.start();
    const server = await startEmptyServer({ SMTP_URL: smtp.url });
    try {
      const partner = await createPartner(server, undefined, { contactEmail: contact() });
      let release!: () => void;
      const sweep = server.outbox.holding(() =>
        server.sequencer.holding(async () => {
          await submitRfi(server.admin, { partnerIds: [partner.id] });
          await new Promise<void>((resolve) => (release = resolve));
        }),
      );
      await eventually("the arrival is committed", async () => (await server.db.query("SELECT 1 FROM referral_events")).length === 1);
      // Longer than the relay's and the sequencer's own polls would take to pick them up.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Not placed, so not yet derived: the e-mail is written when the sequencer places the arrival.
      expect(await server.db.query("SELECT feed_batch FROM referral_events")).to.deep.equal([{ feed_batch: null }]);
      expect(await statusesOf(server, "NEW_REFERRAL")).to.deep.equal([]);
      expect(smtp.received).to.have.length(0);
      release();
      await sweep;
      await eventually("the alert is sent", async () => smtp.received.length === 1, 10_000);
      await eventually(
        "the arrival is in the feed",
        async () => (await server.db.query("SELECT 1 FROM referral_events WHERE feed_batch IS NOT NULL")).length === 1,
      );
    } finally {
      await server.stop();
      await smtp.stop();
    }
  });
});

describe("notifications > reminders and deadlines", () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  before(async function () {
    this.timeout(60_000);
    smtp = await TestSmtpServer.start();
    // Deadlines 6 s after arrival, reminders 4 s before them, looked for every second.
    server = await startEmptyServer({
      SMTP_URL: smtp.url,
      NEW_REFERRAL_RESPONSE_WINDOW: "6s",
      REMINDER_BEFORE: "4s",
      EXPIRY_SWEEP_EVERY: "1s",
    });
  });
  after(async () => {
    await server?.stop();
    await smtp?.stop();
  });

  it("reminds an unanswered referral's contact once, never an answered one, then tells the customer when it is missed", async function () {
    this.timeout(30_000);
    const [quiet, quick] = [contact(), contact()];
    const silent = await createPartner(server, undefined, { contactEmail: quiet });
    const answering = await createPartner(server, undefined, { contactEmail: quick });
    const customer = contact();
    const { referralIds } = await submitRfi(server.admin, { partnerIds: [silent.id, answering.id], customerEmail: customer });
    const answered = referralIds[1];
    await answering.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: answered });

    await eventually(
      "the referral is missed",
      async () => {
        const [{ status }] = await server.db.query("SELECT status FROM referrals WHERE id = ?", [referralIds[0]]);
        return status === "MISSED";
      },
      15_000,
    );
    await eventually("the customer is told", async () => smtp.to(customer).length === 1, 10_000);
    // A few more sweeps: still one reminder.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(smtp.to(quiet).map(({ subject }) => subject.split(":")[0])).to.deep.equal(["New referral", "Reminder"]);
    expect(smtp.to(quick).map(({ subject }) => subject.split(":")[0])).to.deep.equal(["New referral"]);
    expect(smtp.to(customer).map(({ subject }) => subject)).to.deep.equal(["Choose another partner for your request"]);
    const reminders: { referralId: string }[] = await server.db.query(
      "SELECT CAST(referral_id AS CHAR) AS referralId FROM outbox_messages WHERE kind = 'RESPONSE_REMINDER'",
    );
    expect(reminders).to.deep.equal([{ referralId: referralIds[0] }]);
  });
});

describe("notifications > a slow SMTP server", () => {
  // A lease of 3 s: each send is aborted at its deadline, 1.5 s.
  const LEASE_MS = 3000;

  it("never sends an e-mail twice when SMTP is slower than the lease: each send is aborted at its deadline and retried", async function () {
    this.timeout(60_000);
    const smtp = await TestSmtpServer.start();
    // Four steps of a second: a send takes longer than the lease.
    smtp.stepDelayMs = 1000;
    const server = await startEmptyServer({ SMTP_URL: smtp.url, NOTIFY_RETRY_SCHEDULE: "1s,1s,1s,1s,1s,1s" }, { outboxLeaseMs: LEASE_MS });
    try {
      const partners = await Promise.all(Array.from({ length: 8 }, () => createPartner(server, undefined, { contactEmail: contact() })));
      // Claimed together once the hold ends: as many sends at once as the lane has slots.
      await server.outbox.holding(() => Promise.all(partners.map((partner) => submitRfi(server.admin, { partnerIds: [partner.id] }))));
      await eventually(
        "every alert's first send is aborted at its deadline",
        async () => {
          const rows: { attempts: number; lastError: string | null }[] = await server.db.query(
            "SELECT attempts, last_error AS lastError FROM outbox_messages WHERE kind = 'NEW_REFERRAL'",
          );
          return rows.length === 8 && rows.every(({ attempts, lastError }) => attempts >= 1 && lastError !== null);
        },
        20_000,
      );
      const failed: { lastError: string }[] = await server.db.query("SELECT last_error AS lastError FROM outbox_messages");
      for (const { lastError } of failed) expect(lastError).to.equal("aborted at the delivery's deadline: no outcome within 1500 ms");
      // Each send had a connection of its own: none waited for one.
      expect(smtp.mostConnections).to.equal(8);
      expect(smtp.received).to.deep.equal([]);

      smtp.stepDelayMs = 0;
      await eventually(
        "every alert is sent",
        async () => (await statusesOf(server, "NEW_REFERRAL")).filter((s) => s === "SUCCEEDED").length === 8,
        20_000,
      );
      // Longer than a lease: an attempt that was not really stopped, or a second claim, would show by now.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
      const ids = smtp.received.map(({ messageId }) => messageId);
      expect(ids).to.have.length(8);
      expect(new Set(ids).size).to.equal(8);
      const rows: { status: string; attempts: number; lastError: string | null }[] = await server.db.query(
        "SELECT status, attempts, last_error AS lastError FROM outbox_messages",
      );
      for (const row of rows) {
        expect(row.status).to.equal("SUCCEEDED");
        expect(row.attempts).to.be.at.least(2);
        expect(row.lastError).to.equal(null);
      }
    } finally {
      await server.stop();
      await smtp.stop();
    }
  });
});

describe("notifications > a database that fails while an e-mail is sent", () => {
  it("records the e-mail sent once the database is back, within the lease, and never sends it again", async function () {
    this.timeout(60_000);
    const LEASE_MS = 8000;
    const smtp = await TestSmtpServer.start();
    // Four steps of 600 ms: time to take the database away while the e-mail is on its way.
    smtp.stepDelayMs = 600;
    const proxy = await TcpProxy.start(testDatabase.port, testDatabase.host);
    const { user, database } = testDatabase;
    const server = await startEmptyServer(
      { DATABASE_URL: `mysql://${user}@127.0.0.1:${proxy.port}/${database}`, SMTP_URL: smtp.url },
      { outboxLeaseMs: LEASE_MS },
    );
    try {
      const partner = await createPartner(server, undefined, { contactEmail: contact() });
      await submitRfi(server.admin, { partnerIds: [partner.id] });
      // Its content read, the alert is on its way to the mail server.
      await eventually("the alert's send has started", async () => smtp.mostConnections > 0);
      // Every connection closed, none accepted: the outcome of the send cannot be written.
      proxy.refuse();
      await eventually("the alert reaches the mail server", async () => smtp.received.length === 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      proxy.restore();
      await eventually("the alert is recorded as sent", async () => (await statusesOf(server, "NEW_REFERRAL"))[0] === "SUCCEEDED", 10_000);
      // Past the lease: a message left leased would have been claimed and sent again by now.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
      expect(smtp.received).to.have.length(1);
      const [row] = await server.db.query(
        "SELECT status, attempts, last_error AS lastError FROM outbox_messages WHERE kind = 'NEW_REFERRAL'",
      );
      expect(row).to.deep.equal({ status: "SUCCEEDED", attempts: 1, lastError: null });
    } finally {
      proxy.restore();
      await server.stop();
      await proxy.close();
      await smtp.stop();
    }
  });
});
