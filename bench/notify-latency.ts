// E-mail latency: from a change's commit to the SMTP server accepting its e-mail. The server runs as
// `npm start` runs it, with SMTP_URL pointing at a real SMTP server (smtp-server) in this process;
// 200 RFIs are submitted at a steady 20 per second (an intake's busy hour is far below), each
// alerting one profile contact through the outbox. The
// start of each is the referral's receivedAt, taken inside its transaction a moment before commit.
// Baseline, in the same run: a hand-written sender that commits a row through mysql2 and then hands
// the same message straight to nodemailer (a pool of 5 SMTP connections, like the server's): what
// sending right after commit costs, with no outbox, no relay and no retry.
// Usage: npm run bench:notify [-- <e-mails>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import nodemailer from "nodemailer";
import { GraphQLClient } from "../test/support/client.js";
import { TestSmtpServer } from "../test/support/smtp.js";
import { createContoso, dropDatabase, purgeNamespace, paced, reportLatencies, startServerProcess, submitRfisPaced } from "./support.js";

const COUNT = Number(process.argv[2] ?? 200);
/** Arrivals per second, open loop: a new RFI every 50 ms whatever the answers' pace. */
const RATE = 20;
const DATABASE = "partner_referrals_bench_notify";
const PORT = 4731;
const adminKey = randomBytes(32).toString("base64url");

async function waitFor(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
const smtp = await TestSmtpServer.start();
const server = await startServerProcess(PORT, DATABASE, adminKey, [], { SMTP_URL: smtp.url });
const admin = new GraphQLClient(`http://127.0.0.1:${PORT}/graphql`, adminKey);
const partnerId = await createContoso(admin);

// --- the server: submitRfi → outbox → relay → SMTP ---
await submitRfisPaced(admin, partnerId, COUNT, RATE);
await waitFor(`${COUNT} alerts reach the SMTP server`, () => smtp.received.length >= COUNT);
const db = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: DATABASE });
const [rows] = await db.query<mysql.RowDataPacket[]>(
  `SELECT CAST(o.id AS CHAR) AS id, r.received_at AS receivedAt FROM outbox_messages o JOIN referrals r ON r.id = o.referral_id`,
);
const committedAt = new Map(rows.map((row) => [`<notification-${row.id}@localhost>`, (row.receivedAt as Date).getTime()]));
const serverLatencies = smtp.received.map((mail) => mail.acceptedAt - committedAt.get(mail.messageId)!);
const [[{ sent, attempts }]] = await db.query<mysql.RowDataPacket[]>(
  "SELECT SUM(status = 'SUCCEEDED') AS sent, SUM(attempts) AS attempts FROM outbox_messages",
);
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));

// --- the baseline: commit, then send straight away ---
smtp.received.length = 0;
await db.query("CREATE TABLE bench_sent (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(3) NOT NULL)");
const pool = mysql.createPool({ host: "127.0.0.1", user: "root", database: DATABASE, connectionLimit: 10 });
const mailer = nodemailer.createTransport({ host: "127.0.0.1", port: smtp.port, pool: true, maxConnections: 5, ignoreTLS: true });
const sentAt = new Map<string, number>();
await paced(COUNT, RATE, async (index) => {
  const connection = await pool.getConnection();
  await connection.beginTransaction();
  await connection.query("INSERT INTO bench_sent (at) VALUES (NOW(3))");
  await connection.commit();
  connection.release();
  const messageId = `<baseline-${index}@localhost>`;
  sentAt.set(messageId, Date.now());
  await mailer.sendMail({
    from: "referrals@localhost",
    to: "alerts@contoso.example",
    subject: "New referral",
    text: "x".repeat(1500),
    html: `<p>${"x".repeat(1500)}</p>`,
    messageId,
  });
});
await waitFor(`${COUNT} baseline e-mails reach the SMTP server`, () => smtp.received.length >= COUNT);
const baselineLatencies = smtp.received.map((mail) => mail.acceptedAt - sentAt.get(mail.messageId)!);
mailer.close();
await pool.end();
await db.end();
await smtp.stop();

reportLatencies({
  counted: "e-mails",
  server: { label: "server: commit → SMTP accepted (outbox, relay)", latencies: serverLatencies },
  baseline: { label: "commit, then nodemailer at once (baseline)", latencies: baselineLatencies },
  note: `${COUNT} RFIs submitted at ${RATE} per second; ${sent} marked sent in ${attempts} attempts; ${smtp.received.length} baseline e-mails.`,
});
process.exit(0);
