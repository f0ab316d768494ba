// Does a partner's click get slower with its history? ignoreReferral over GraphQL/HTTP for a partner
// with a long history (50,000 referrals, half of them open) and for a partner with none, alternating,
// on one real server (MariaDB, Agenda on Redis). The partner without history is the baseline. Also
// times how long FIT_SCORE takes to reflect a decision of the partner with history (its open
// referrals are rescored by a job).
// Usage: npm run bench:decisions [-- <history> <decisions>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { recountCounters } from "../src/analytics/history-counters.js";
import { startServer } from "../src/app/server.js";
import { GraphQLClient } from "../test/support/client.js";
import { random } from "../test/support/random.js";
import { dropDatabase, freshConfig, percentiles, purgeNamespace, RFI_COLUMNS, table } from "./support.js";

const HISTORY = Number(process.argv[2] ?? 50_000);
const DECISIONS = Number(process.argv[3] ?? 200);
const DATABASE = "partner_referrals_bench_decisions";
const BATCH = 2000;
const adminKey = randomBytes(32).toString("base64url");

const KEYWORDS = ["erp", "cloud", "data", "crm", "security", "ai", "migration", "network", "sap", "backup"];
const INDUSTRIES = ["Manufacturing", "Retail", "Finance", "Health", "Public sector", null];
const SIZES = ["SIZE_1_TO_9", "SIZE_10_TO_49", "SIZE_50_TO_249", "SIZE_250_TO_999"];
const OPEN = ["NEW", "EVALUATING", "NEGOTIATING"];
const DECIDED = ["IGNORED", "DECLINED", "WON", "LOST", "MISSED", "EXPIRED"];

const config = await freshConfig(DATABASE, adminKey);
const server = await startServer(config);
const admin = new GraphQLClient(server.url, adminKey);

async function partner(name: string): Promise<{ id: string; api: GraphQLClient }> {
  const { createPartner } = await admin.data(
    `mutation($name: String!) { createPartner(input: { name: $name }) { partner { id } apiKey } }`,
    { name },
  );
  await admin.data(
    `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
       contactEmail: "bench@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
    { id: createPartner.partner.id },
  );
  return { id: createPartner.partner.id, api: new GraphQLClient(server.url, createPartner.apiKey) };
}
const seasoned = await partner("With history");
const newcomer = await partner("Without history");

// The history, written straight to the tables: half open, half decided, over two years.
console.error(`seeding ${HISTORY} referrals…`);
const next = random(7);
const pick = <T>(values: readonly T[]): T => values[next(values.length)];
const sqlTime = (date: Date) => date.toISOString().slice(0, 23).replace("T", " ");
const [{ profileId }] = await server.db.query("SELECT CAST(id AS CHAR) AS profileId FROM marketing_profiles WHERE partner_id = ?", [
  seasoned.id,
]);
const [{ firstRfi }] = await server.db.query("SELECT COALESCE(MAX(id), 0) + 1 AS firstRfi FROM rfis");
for (let first = 0; first < HISTORY; first += BATCH) {
  const count = Math.min(BATCH, HISTORY - first);
  const rfis: string[] = [];
  const referrals: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const keywords = JSON.stringify([...new Set([pick(KEYWORDS), pick(KEYWORDS)])]);
    const industry = pick(INDUSTRIES);
    const size = pick(SIZES);
    const received = new Date(Date.now() - next(730 * 86_400) * 1000);
    rfis.push(
      `(${Number(firstRfi) + n}, 'Bench need', '${size}', ${industry ? `'${industry}'` : "NULL"}, 'FR', '${keywords}', 'Fabrikam', 'Ann', 'ann@fabrikam.example', NULL, '${sqlTime(received)}', NULL)`,
    );
    const status = n % 2 === 0 ? pick(OPEN) : pick(DECIDED);
    const respondBy = status === "NEW" ? `NOW(3) + INTERVAL 72 HOUR` : status === "EVALUATING" ? `NOW(3) + INTERVAL 7 DAY` : "NULL";
    const deal = ["NEGOTIATING", "WON", "LOST"].includes(status);
    const value = deal ? `'${(1000 + next(2_000_000)).toFixed(2)}'` : "NULL";
    const answered = status === "NEW" || status === "MISSED" ? "NULL" : `'${sqlTime(new Date(received.getTime() + next(48) * 3_600_000))}'`;
    referrals.push(
      `(${Number(firstRfi) + n}, ${seasoned.id}, ${profileId}, 'FR', '${size}', ${industry ? `'${industry}'` : "NULL"}, '${status}', 1, ` +
        `'${sqlTime(received)}', '${sqlTime(received)}', ${respondBy}, ${answered}, ${value}, ${deal ? "'EUR'" : "NULL"})`,
    );
  }
  await server.db.query(`INSERT INTO rfis ${RFI_COLUMNS} VALUES ${rfis.join(", ")}`);
  await server.db.query(
    `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, industry, status, version, received_at, updated_at,
       respond_by, answered_at, deal_value, deal_currency) VALUES ${referrals.join(", ")}`,
  );
}
await recountCounters(server.db, [seasoned.id]);
let started = Date.now();
const rescored = await server.fitScores.rescorePartner(seasoned.id);
const firstRescoreMs = Date.now() - started;
console.error(`seeded; scored ${rescored} open referrals in ${firstRescoreMs} ms`);

async function newReferrals(to: { id: string }, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { submitRfi } = await admin.data(`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { referrals { id } } }`, {
      input: {
        customer: { companyName: "Fabrikam", contactName: "Ann Lee", email: "ann@fabrikam.example" },
        need: "Bench",
        companySize: pick(SIZES),
        region: "FR",
        keywords: [pick(KEYWORDS), pick(KEYWORDS)],
        partnerIds: [to.id],
      },
    });
    ids.push(submitRfi.referrals[0].id);
  }
  return ids;
}
const heavy = await newReferrals(seasoned, DECISIONS);
const light = await newReferrals(newcomer, DECISIONS);

const IGNORE = `mutation($id: ID!) { ignoreReferral(id: $id, reason: "bench") { id status } }`;
async function timed(api: GraphQLClient, id: string): Promise<number> {
  const start = performance.now();
  const { ignoreReferral } = await api.data(IGNORE, { id });
  if (ignoreReferral.status !== "IGNORED") throw new Error(`referral ${id} is ${ignoreReferral.status}`);
  return performance.now() - start;
}
// Warm-up, then alternate so both see the same machine; the rescoring jobs run meanwhile, as in production.
for (let i = 0; i < 10; i++) {
  await timed(seasoned.api, heavy.pop()!);
  await timed(newcomer.api, light.pop()!);
}
const withHistory: number[] = [];
const without: number[] = [];
for (let i = 0; i < heavy.length; i++) {
  withHistory.push(await timed(seasoned.api, heavy[i]));
  without.push(await timed(newcomer.api, light[i]));
}

// How long until the open referrals' scores reflect one more decision.
const revision = async () => {
  const [{ scored }] = await server.db.query("SELECT scored_revision AS scored FROM fit_rescoring WHERE partner_id = ?", [seasoned.id]);
  return Number(scored);
};
while ((await server.scheduler.agenda.db.queryJobs({ name: "fit-rescore" })).total > 0)
  await new Promise((resolve) => setTimeout(resolve, 100));
const before = await revision();
const [last] = await newReferrals(seasoned, 1);
started = Date.now();
await seasoned.api.data(IGNORE, { id: last });
while ((await revision()) <= before) await new Promise((resolve) => setTimeout(resolve, 20));
const reflectedMs = Date.now() - started;
const [{ open }] = await server.db.query(
  "SELECT COUNT(*) AS open FROM referrals WHERE partner_id = ? AND status IN ('NEW', 'EVALUATING', 'NEGOTIATING')",
  [seasoned.id],
);
await server.stop();

const a = percentiles(withHistory);
const b = percentiles(without);
const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
const ms = (x: number) => x.toFixed(1);
console.log(
  table(
    ["ignoreReferral", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"],
    [
      [
        `partner with ${HISTORY.toLocaleString("en")} referrals (${Number(open).toLocaleString("en")} open)`,
        a.n,
        ms(a.p50),
        ms(a.p95),
        ms(a.p99),
        ms(a.max),
      ],
      ["partner without history (baseline)", b.n, ms(b.p50), ms(b.p95), ms(b.p99), ms(b.max)],
      ["ratio", "", ratio(a.p50, b.p50), ratio(a.p95, b.p95), ratio(a.p99, b.p99), ratio(a.max, b.max)],
    ],
  ),
);
console.log(
  `\nFirst scoring of the seeded open referrals: ${firstRescoreMs} ms. A decision reached every open referral's` +
    ` FIT_SCORE ${reflectedMs} ms after its answer (coalescing window, job pickup and the rescoring itself).`,
);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);
