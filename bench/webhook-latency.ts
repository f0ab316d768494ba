// Webhook latency: from a new referral's commit to its webhook arriving at the partner's endpoint. The
// server runs as `npm start` runs it (production mode) with its default webhook settings, except
// WEBHOOK_ALLOW_PRIVATE_URLS=true (production refuses http:// and loopback URLs, and the receiver is a
// real HTTP server on 127.0.0.1 in this process). One partner has an endpoint for REFERRAL_RECEIVED;
// 500 RFIs are routed to it at a steady 20 per second (open loop). The start of each is the referral's
// receivedAt, taken inside its transaction a moment before commit; the end is the request's arrival at
// the receiver, matched by data.referralId. Every signature is checked (Standard Webhooks).
// Baseline, in the same run after the server has stopped: a hand-written sender that commits a row
// through mysql2 and then POSTs a body of the same shape, signed the same way, straight to the same
// receiver over node:http with a keep-alive agent: what sending right after commit costs, with no
// change feed, no outbox, no relay and no retry.
// Usage: npm run bench:webhooks [-- <deliveries>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import mysql from "mysql2/promise";
import { Webhook } from "standardwebhooks";
import { GraphQLClient } from "../test/support/client.js";
import { WebhookReceiver, type ReceivedWebhook } from "../test/support/webhook-receiver.js";
import { CREATE_ENDPOINT } from "../test/support/webhooks.js";
import { createContoso, dropDatabase, purgeNamespace, paced, reportLatencies, startServerProcess, submitRfisPaced } from "./support.js";

const COUNT = Number(process.argv[2] ?? 500);
/** Arrivals per second, open loop: a new RFI every 50 ms whatever the answers' pace. */
const RATE = 20;
const DATABASE = "partner_referrals_bench_webhooks";
const PORT = 4741;
const adminKey = randomBytes(32).toString("base64url");

/** Signatures that do not verify with `secret`. */
function badSignatures(received: ReceivedWebhook[], secret: string): number {
  const webhook = new Webhook(secret);
  let bad = 0;
  for (const { headers, body } of received) {
    try {
      webhook.verify(body, headers as Record<string, string>);
    } catch {
      bad += 1;
    }
  }
  return bad;
}

/** Arrival − start per referral, from the first arrival of each (a retry would come later). */
function latencies(received: ReceivedWebhook[], startOf: Map<string, number>): number[] {
  const first = new Map<string, number>();
  for (const { body, at } of received) {
    const id = String((JSON.parse(body) as { data: { referralId: string } }).data.referralId);
    if (!first.has(id)) first.set(id, at);
  }
  return [...first].map(([id, at]) => {
    const start = startOf.get(id);
    if (start === undefined) throw new Error(`a webhook for referral ${id}, which this run did not create`);
    return at - start;
  });
}

/** Mean body size in bytes. */
const bodyBytes = (received: ReceivedWebhook[]) =>
  Math.round(received.reduce((sum, hook) => sum + Buffer.byteLength(hook.body), 0) / received.length);

await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
const receiver = await new WebhookReceiver().start();
const server = await startServerProcess(PORT, DATABASE, adminKey, [], { WEBHOOK_ALLOW_PRIVATE_URLS: "true" });
process.once("exit", () => server.killed || server.kill("SIGTERM")); // also when the benchmark fails
const admin = new GraphQLClient(`http://127.0.0.1:${PORT}/graphql`, adminKey);
const partnerId = await createContoso(admin);
const { createWebhookEndpoint } = await admin.data(CREATE_ENDPOINT, { url: receiver.url, events: ["REFERRAL_RECEIVED"], partnerId });
const secret: string = createWebhookEndpoint.secret;

// --- the server: submitRfi → sequencer → outbox → relay → POST ---
await submitRfisPaced(admin, partnerId, COUNT, RATE);
await receiver.receivedAtLeast(COUNT, 120_000);
const db = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: DATABASE, timezone: "Z" });
const [rows] = await db.query<mysql.RowDataPacket[]>("SELECT CAST(id AS CHAR) AS id, received_at AS receivedAt FROM referrals");
const serverReceived = [...receiver.received];
const serverLatencies = latencies(serverReceived, new Map(rows.map((row) => [row.id as string, (row.receivedAt as Date).getTime()])));
const serverBad = badSignatures(serverReceived, secret);
// The relay marks a delivery SUCCEEDED once its answer is in: a moment after the receiver saw it.
let counts = {} as mysql.RowDataPacket;
for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
  [[counts]] = await db.query<mysql.RowDataPacket[]>(
    "SELECT COUNT(*) AS total, SUM(status = 'SUCCEEDED') AS sent, SUM(attempts) AS attempts FROM outbox_messages WHERE channel = 'webhook'",
  );
  if (Number(counts.sent) >= COUNT) break;
}
const { sent, attempts, total } = counts;
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));

// --- the baseline: commit, then POST at once ---
receiver.received.length = 0;
await db.query("CREATE TABLE bench_sent (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, at DATETIME(3) NOT NULL)");
const pool = mysql.createPool({ host: "127.0.0.1", user: "root", database: DATABASE, connectionLimit: 10 });
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const baselineSecret = `whsec_${randomBytes(24).toString("base64")}`;
const signer = new Webhook(baselineSecret);
const committedAt = new Map<string, number>();
const target = new URL(receiver.url);
await paced(COUNT, RATE, async (index) => {
  const connection = await pool.getConnection();
  await connection.beginTransaction();
  const [inserted] = await connection.query<mysql.ResultSetHeader>("INSERT INTO bench_sent (at) VALUES (NOW(3))");
  await connection.commit();
  connection.release();
  const referralId = String(inserted.insertId);
  committedAt.set(referralId, Date.now());
  const now = new Date();
  const cursor = Buffer.from(`change:${index + 1}:${referralId}`).toString("base64url");
  const body = JSON.stringify({
    type: "referral.received",
    timestamp: now.toISOString(),
    data: { referralId, status: "NEW", version: 1, cursor },
  });
  const id = `msg_${index + 1}`;
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": signer.sign(id, now, body),
  };
  await new Promise<void>((resolve, reject) => {
    const post = request(target, { method: "POST", agent, headers }, (response) => {
      response.resume();
      response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
    });
    post.on("error", reject);
    post.end(body);
  });
});
await receiver.receivedAtLeast(COUNT, 120_000);
const baselineLatencies = latencies(receiver.received, committedAt);
const baselineBad = badSignatures(receiver.received, baselineSecret);
agent.destroy();
await pool.end();
await db.end();
await receiver.stop();

reportLatencies({
  counted: "webhooks",
  extra: ["bad signatures"],
  server: { label: "server: commit → receiver (feed, outbox, relay)", latencies: serverLatencies, extra: [serverBad] },
  baseline: { label: "commit, then POST at once (baseline)", latencies: baselineLatencies, extra: [baselineBad] },
  note:
    `${COUNT} RFIs submitted at ${RATE} per second; ${total} deliveries written, ${sent} SUCCEEDED in ${attempts} attempts; ` +
    `${serverReceived.length} requests received (${bodyBytes(serverReceived)} bytes of body on average); ${receiver.received.length} baseline requests (${bodyBytes(receiver.received)} bytes).`,
});
if (serverBad + baselineBad > 0) process.exitCode = 1;
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit();
