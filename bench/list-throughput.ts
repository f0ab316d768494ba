// Read throughput: a partner's page of referrals over GraphQL/HTTP, against a hand-written express +
// mysql2 handler that checks the same key and answers the same JSON (bench/list-baseline.ts). Both
// run as their own processes; autocannon drives each in turn from this one (16 connections),
// server and baseline alternating. The JSON of both is checked equal before any timing.
// Usage: npm run bench:list [-- <seconds per run>]
import "reflect-metadata";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { deepStrictEqual } from "node:assert";
import autocannon from "autocannon";
import mysql from "mysql2/promise";
import { GraphQLClient } from "../test/support/client.js";
import { random } from "../test/support/random.js";
import { cpuMsOf, dropDatabase, purgeNamespace, SERVER_NODE_FLAGS, startServerProcess, table } from "./support.js";

const SECONDS = Number(process.argv[2] ?? 10);
const ROUNDS = 2;
const CONNECTIONS = 16;
const DATABASE = "partner_referrals_bench_list";
const SERVER_PORT = 4711;
const BASELINE_PORT = 4712;
const OTHER_PARTNERS = 9;
const PER_PARTNER = 2000;
const adminKey = randomBytes(32).toString("base64url");

const PAGE_50 = `query($first: Int!) { referrals(first: $first) { totalCount edges { cursor node { id status receivedAt respondBy
  overview { need region companySize keywords } partner { id name } } } pageInfo { hasNextPage endCursor } } }`;
const PAGE_100 = `query($first: Int!) { referrals(first: $first) { totalCount edges { cursor node { id status receivedAt respondBy
  overview { need region companySize keywords } partner { id name } customer { companyName contactName email phone }
  events { action at from to actor note } } } pageInfo { hasNextPage endCursor } } }`;

await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);

// PROFILE=<dir> writes the server's CPU profile there.
const server = await startServerProcess(
  SERVER_PORT,
  DATABASE,
  adminKey,
  process.env.PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE}`] : [],
  // The access log on, as in production: one line per request.
  { LOG_LEVEL: "info" },
);
const url = `http://127.0.0.1:${SERVER_PORT}/graphql`;
const admin = new GraphQLClient(url, adminKey);

// Ten partners with 2,000 referrals each, in every status, with their audit trail; the first one is timed.
console.error("seeding…");
const partners: { id: string; key: string }[] = [];
for (let i = 0; i < OTHER_PARTNERS + 1; i++) {
  const { createPartner } = await admin.data(
    `mutation($name: String!) { createPartner(input: { name: $name }) { partner { id } apiKey } }`,
    {
      name: `Reader ${i + 1}`,
    },
  );
  const { upsertMarketingProfile } = await admin.data(
    `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
       contactEmail: "reader@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
    { id: createPartner.partner.id },
  );
  partners.push({ id: createPartner.partner.id, key: createPartner.apiKey, profile: upsertMarketingProfile.id } as never);
}
const db = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: DATABASE });
const next = random(3);
const STATUSES = ["NEW", "EVALUATING", "NEGOTIATING", "WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"];
const KEYWORDS = ["cloud", "erp", "data", "crm", "security"];
let rfiId = 0;
for (const partner of partners as unknown as { id: string; profile: string }[]) {
  const rfis: unknown[][] = [];
  const referrals: unknown[][] = [];
  for (let n = 0; n < PER_PARTNER; n++) {
    rfiId += 1;
    const received = new Date(Date.UTC(2026, 0, 1) + next(300 * 86_400) * 1000);
    const status = STATUSES[next(STATUSES.length)];
    rfis.push([
      rfiId,
      `Need number ${rfiId}: move the ERP to the cloud`,
      "SIZE_50_TO_249",
      "FR",
      JSON.stringify([KEYWORDS[next(5)], KEYWORDS[next(5)]].filter((k, i, all) => all.indexOf(k) === i)),
      `Customer ${rfiId}`,
      "Ann Lee",
      `ann${rfiId}@customer.example`,
      next(2) ? "+33 1 23 45 67 89" : null,
      received,
    ]);
    referrals.push([
      rfiId,
      rfiId,
      partner.id,
      partner.profile,
      "FR",
      "SIZE_50_TO_249",
      status,
      1,
      received,
      received,
      status === "NEW" ? new Date(received.getTime() + 72 * 3_600_000) : null,
    ]);
  }
  await db.query(
    "INSERT INTO rfis (id, need, company_size, region, keywords, customer_company_name, customer_contact_name, customer_email, customer_phone, submitted_at) VALUES ?",
    [rfis],
  );
  await db.query(
    "INSERT INTO referrals (id, rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at, respond_by) VALUES ?",
    [referrals],
  );
}
await db.query(
  `INSERT INTO referral_events (referral_id, partner_id, version, feed_batch, action, at, from_status, to_status, actor, note)
   SELECT id, partner_id, 1, 0, 'RECEIVE', received_at, NULL, 'NEW', 'intake', NULL FROM referrals UNION ALL
   SELECT id, partner_id, 2, 0, 'EXPRESS_INTEREST', received_at + INTERVAL 1 HOUR, 'NEW', 'EVALUATING', 'Reader', 'keen' FROM referrals WHERE status NOT IN ('NEW', 'IGNORED', 'MISSED')`,
);
await db.query("ANALYZE TABLE referrals, referral_events, rfis");
await db.end();

// With the server's Node flags, so that both run on the same runtime settings.
const baseline = fork(fileURLToPath(new URL("./list-baseline.js", import.meta.url)), [], {
  env: { PATH: process.env.PATH, DATABASE, PORT: String(BASELINE_PORT) },
  execArgv: SERVER_NODE_FLAGS,
});
await new Promise((resolve) => baseline.once("message", resolve));
const baselineUrl = `http://127.0.0.1:${BASELINE_PORT}/graphql`;
const partnerKey = partners[0].key;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time the answering process spent per request (user + system), in ms. */
  cpu: number;
}

async function load(target: string, query: string, first: number): Promise<Run> {
  const pid = target === url ? server.pid! : baseline.pid!;
  const cpuBefore = await cpuMsOf(pid);
  const result = await autocannon({
    url: target,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${partnerKey}` },
    body: JSON.stringify({ query, variables: { first } }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const cpu = ((await cpuMsOf(pid)) - cpuBefore) / result.requests.total;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpu };
}

const rows: (string | number)[][] = [];
for (const [name, query, first] of [
  ["page of 50 (overview, partner)", PAGE_50, 50],
  ["page of 100 (overview, partner, customer, events)", PAGE_100, 100],
] as const) {
  if (process.env.ONLY && !name.includes(process.env.ONLY)) continue;
  const bodies = await Promise.all(
    [url, baselineUrl].map(async (target) => {
      const response = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${partnerKey}` },
        body: JSON.stringify({ query, variables: { first } }),
      });
      return response.json();
    }),
  );
  deepStrictEqual(bodies[1], bodies[0], `the baseline's JSON differs from the server's for the ${name}`);
  await load(url, query, first); // warm-up
  await load(baselineUrl, query, first);
  const server: Run[] = [];
  const plain: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    server.push(await load(url, query, first));
    plain.push(await load(baselineUrl, query, first));
  }
  const mean = (runs: Run[], key: keyof Run) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length;
  const [s, b] = [server, plain].map((runs) => ({
    rps: mean(runs, "rps"),
    p50: mean(runs, "p50"),
    p99: mean(runs, "p99"),
    cpu: mean(runs, "cpu"),
  }));
  rows.push(
    [`${name}: server`, s.rps.toFixed(0), s.p50.toFixed(1), s.p99.toFixed(1), s.cpu.toFixed(2)],
    [`${name}: express + mysql2 (baseline)`, b.rps.toFixed(0), b.p50.toFixed(1), b.p99.toFixed(1), b.cpu.toFixed(2)],
    [
      `${name}: ratio`,
      `${(s.rps / b.rps).toFixed(2)}×`,
      `${(s.p50 / b.p50).toFixed(2)}×`,
      `${(s.p99 / b.p99).toFixed(2)}×`,
      `${(s.cpu / b.cpu).toFixed(2)}×`,
    ],
  );
  console.error(`${name}: done`);
}
server.kill("SIGTERM");
baseline.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));
console.log(table(["", "requests/s", "p50 ms", "p99 ms", "process CPU ms per request"], rows));
console.log(
  `\n${CONNECTIONS} connections, ${ROUNDS} runs of ${SECONDS} s each, alternating, after a warm-up; a PARTNER key with ${PER_PARTNER.toLocaleString("en")} referrals among ${((OTHER_PARTNERS + 1) * PER_PARTNER).toLocaleString("en")}.`,
);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);
