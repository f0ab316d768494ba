// Live fan-out: one new referral to N subscribed sockets. The server runs as `npm start` runs it; the
// N clients (graphql-ws, `referralReceived` with its overview, one partner's key) run in a process
// of their own. Delivery time: from the referral's receivedAt (inside the committing transaction) to
// each client's receipt. Baseline, in the same run: a bare `ws` server broadcasting a message of the
// same size to N bare sockets, from the moment it starts sending. Memory: what each server process
// holds per connected socket (subscribed, or bare) after a full garbage collection: heap in use and
// memory outside the heap, before and after the N sockets, read through the inspector.
// Usage: npm run bench:fanout [-- <sockets> <events>]
import "reflect-metadata";
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { GraphQLClient } from "../test/support/client.js";
import { dropDatabase, memoryAfterGc, percentiles, purgeNamespace, SERVER_NODE_FLAGS, startServerProcess, table } from "./support.js";

const SOCKETS = Number(process.argv[2] ?? 5000);
const EVENTS = Number(process.argv[3] ?? 10);
const DATABASE = "partner_referrals_bench_fanout";
const SERVER_PORT = 4721;
const BASELINE_PORT = 4722;
const adminKey = randomBytes(32).toString("base64url");
const QUERY = `subscription { referralReceived { id status receivedAt respondBy overview { need companySize region keywords } partner { id name } } }`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

function startClients(mode: "server" | "baseline", url: string, key = ""): Promise<ChildProcess> {
  const clients = fork(fileURLToPath(new URL("./fanout-clients.js", import.meta.url)), [mode, url, String(SOCKETS), key, QUERY], {
    execArgv: ["--max-old-space-size=4096"],
  });
  return new Promise((resolve) => clients.once("message", () => resolve(clients)));
}

function report(clients: ChildProcess): Promise<number[]> {
  return new Promise((resolve) => {
    clients.once("message", (message: { latencies: number[] }) => resolve(message.latencies));
    clients.send("report");
  });
}

async function closeClients(clients: ChildProcess): Promise<void> {
  clients.send("close");
  await new Promise((resolve) => clients.once("exit", resolve));
}

await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);

// --- the server ---
const INSPECT = "--inspect=127.0.0.1:0";
const server = await startServerProcess(SERVER_PORT, DATABASE, adminKey, [INSPECT]);
const health = async () => (await (await fetch(`http://127.0.0.1:${SERVER_PORT}/healthz`)).json()) as { live: { subscriptions: number } };
const admin = new GraphQLClient(`http://127.0.0.1:${SERVER_PORT}/graphql`, adminKey);
const { createPartner } = await admin.data(`mutation { createPartner(input: { name: "Fan-out partner" }) { partner { id } apiKey } }`);
await admin.data(
  `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
     contactEmail: "fanout@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
  { id: createPartner.partner.id },
);
const submit = () =>
  admin.data(`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { referrals { id } } }`, {
    input: {
      customer: { companyName: "Fabrikam", contactName: "Ann Lee", email: "ann@fabrikam.example" },
      need: "Move our ERP to the cloud, with a data platform beside it, for 250 people in three countries",
      companySize: "SIZE_250_TO_999",
      region: "FR",
      keywords: ["cloud", "erp", "data"],
      partnerIds: [createPartner.partner.id],
    },
  });
// A warm-up of the path, and the size of the message each subscriber gets (the baseline sends as much).
const { submitRfi: first } = await submit();
const partner = new GraphQLClient(admin.url, createPartner.apiKey);
const { referral } = await partner.data(
  `query($id: ID!) { referral(id: $id) { id status receivedAt respondBy overview { need companySize region keywords } partner { id name } } }`,
  { id: first.referrals[0].id },
);
const MESSAGE_BYTES = JSON.stringify({
  id: randomBytes(16).toString("hex"),
  type: "next",
  payload: { data: { referralReceived: referral } },
}).length;
await sleep(500);
const serverBefore = await memoryAfterGc(server);
console.error(`opening ${SOCKETS} subscribed sockets…`);
const serverClients = await startClients("server", `ws://127.0.0.1:${SERVER_PORT}/graphql`, createPartner.apiKey);
await waitUntil(`${SOCKETS} subscriptions`, async () => (await health()).live.subscriptions === SOCKETS);
const serverPerSocket = ((await memoryAfterGc(server)) - serverBefore) / SOCKETS;
await report(serverClients);
for (let event = 0; event < EVENTS; event++) {
  await submit();
  await sleep(1000);
}
const serverLatencies = await report(serverClients);
await closeClients(serverClients);
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));

// --- the baseline: a bare ws broadcast of a message the size of the server's ---
// With the server's Node flags: the young generation's size is the runtime's, not the sockets'.
const baseline = fork(fileURLToPath(new URL("./fanout-baseline.js", import.meta.url)), [], {
  env: { PATH: process.env.PATH, PORT: String(BASELINE_PORT) },
  execArgv: [...SERVER_NODE_FLAGS, INSPECT],
  stdio: ["inherit", "inherit", "pipe", "ipc"],
});
await new Promise((resolve) => baseline.once("message", resolve));
const baselineBefore = await memoryAfterGc(baseline);
const baselineClients = await startClients("baseline", `ws://127.0.0.1:${BASELINE_PORT}`);
const baselinePerSocket = ((await memoryAfterGc(baseline)) - baselineBefore) / SOCKETS;
await report(baselineClients);
for (let event = 0; event < EVENTS; event++) {
  baseline.send({ broadcast: MESSAGE_BYTES });
  await sleep(1000);
}
const baselineLatencies = await report(baselineClients);
await closeClients(baselineClients);
baseline.kill("SIGTERM");

const s = percentiles(serverLatencies);
const b = percentiles(baselineLatencies);
const ms = (x: number) => x.toFixed(0);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
console.log(
  table(
    ["", "deliveries", "p50 ms", "p95 ms", "p99 ms", "max ms", "KiB per socket"],
    [
      [
        `server: ${SOCKETS.toLocaleString("en")} subscribers, commit → client`,
        s.n,
        ms(s.p50),
        ms(s.p95),
        ms(s.p99),
        ms(s.max),
        kib(serverPerSocket),
      ],
      [
        `bare ws broadcast to ${SOCKETS.toLocaleString("en")} sockets (baseline)`,
        b.n,
        ms(b.p50),
        ms(b.p95),
        ms(b.p99),
        ms(b.max),
        kib(baselinePerSocket),
      ],
      [
        "ratio",
        "",
        `${(s.p50 / b.p50).toFixed(2)}×`,
        `${(s.p95 / b.p95).toFixed(2)}×`,
        `${(s.p99 / b.p99).toFixed(2)}×`,
        `${(s.max / b.max).toFixed(2)}×`,
        `${(serverPerSocket / baselinePerSocket).toFixed(2)}×`,
      ],
    ],
  ),
);
console.log(`\n${EVENTS} events; ${s.n} deliveries expected ${SOCKETS * EVENTS}; baseline messages of ${MESSAGE_BYTES} bytes.`);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);
