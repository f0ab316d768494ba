// dealSizeStats over a million referrals: the GraphQL query over HTTP, and the same SQL sent
// straight through mysql2 (the baseline), alternating in the same process.
// Usage: npm run bench:stats [-- <referrals>]   (seeds once into partner_referrals_bench_stats)
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { dealSizeQuery } from "../src/analytics/stats.service.js";
import { StatsDimension } from "../src/analytics/stats.types.js";
import { Role } from "../src/graphql/role.js";
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/data-source.js";
import { startServer } from "../src/app/server.js";
import { GraphQLClient } from "../test/support/client.js";
import { dropDatabase, percentiles, purgeNamespace, table } from "./support.js";
import { seedReferrals } from "./seed.js";
import { ENTITIES } from "../src/app/entities.js";

const COUNT = Number(process.argv[2] ?? 1_000_000);
const RUNS = 7;
const DATABASE = "partner_referrals_bench_stats";
const URL = `mysql://root@127.0.0.1:3306/${DATABASE}`;

const config = loadConfig({ NODE_ENV: "test", PORT: "0", DATABASE_URL: URL, ADMIN_API_KEY: randomBytes(32).toString("base64url") });
const db = await openDatabase(config.database, ENTITIES);
const [{ seeded }] = await db.query("SELECT COUNT(*) AS seeded FROM referrals");
if (Number(seeded) !== COUNT) {
  await db.destroy();
  await dropDatabase(DATABASE);
  const fresh = await openDatabase(config.database, ENTITIES);
  console.error(`seeding ${COUNT} referrals…`);
  const started = Date.now();
  await seedReferrals(fresh, COUNT);
  await fresh.query("ANALYZE TABLE referrals");
  console.error(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await fresh.destroy();
} else {
  await db.destroy();
}

const server = await startServer(config);
const admin = new GraphQLClient(server.url, config.adminApiKey);
const QUERY = `{ dealSizeStats(groupBy: [MONTH, REGION]) { key { dimension value } currency count total average min median p90 max } }`;

const direct = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: DATABASE, timezone: "Z" });
const { sql, parameters } = dealSizeQuery({ keyId: "0", label: "bench", role: Role.ANALYST, partnerId: null }, null, [
  StatsDimension.MONTH,
  StatsDimension.REGION,
])!;
await direct.query("SET SESSION sort_buffer_size = 67108864, SESSION tmp_table_size = 268435456, SESSION max_heap_table_size = 268435456");

const timed = async (work: () => Promise<number>) => {
  const started = process.hrtime.bigint();
  const rows = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, rows };
};
const viaGraphQL = () => timed(async () => (await admin.data(QUERY)).dealSizeStats.length);
const viaMysql2 = () => timed(async () => ((await direct.query(sql, parameters))[0] as unknown[]).length);

// Warm the buffer pool and the server once, then alternate.
const warm = [await viaGraphQL(), await viaMysql2()];
if (warm[0].rows !== warm[1].rows) throw new Error(`GraphQL answered ${warm[0].rows} rows, mysql2 ${warm[1].rows}`);
const graphql: number[] = [];
const sqlOnly: number[] = [];
for (let run = 0; run < RUNS; run++) {
  graphql.push((await viaGraphQL()).ms);
  sqlOnly.push((await viaMysql2()).ms);
}
await direct.end();
await server.stop();
await purgeNamespace(DATABASE);

const ours = percentiles(graphql);
const base = percentiles(sqlOnly);
const [{ withDeal }] = await (async () => {
  const connection = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: DATABASE });
  const [rows] = await connection.query("SELECT COUNT(*) AS withDeal FROM referrals WHERE deal_value IS NOT NULL");
  await connection.end();
  return rows as { withDeal: number }[];
})();
console.log(
  table(
    ["", "runs", "p50 ms", "max ms"],
    [
      [`dealSizeStats(groupBy: [MONTH, REGION]) over GraphQL/HTTP`, RUNS, ours.p50.toFixed(0), ours.max.toFixed(0)],
      ["the same SQL through mysql2 (baseline)", RUNS, base.p50.toFixed(0), base.max.toFixed(0)],
      ["ratio", "", `${(ours.p50 / base.p50).toFixed(2)}×`, `${(ours.max / base.max).toFixed(2)}×`],
    ],
  ),
);
console.log(`\n${COUNT} referrals, ${withDeal} with a deal value; ${warm[0].rows} result rows.`);
process.exit(0);
