// How fast does a backlog of overdue referrals expire when a server starts (after an outage)? N NEW
// referrals already past their deadline, written straight to the tables; a real server is started
// and timed until none is left NEW. The floor, in the same run: one INSERT…SELECT of their events
// plus one UPDATE of the same rows in one transaction, sent straight through mysql2 (timed before
// and after the server's run, on the same rows reset). Then counts the jobs the job store holds for
// 10,000 open referrals whose deadlines spread over the 72-hour window.
// Usage: npm run bench:backlog [-- <count>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { recountCounters } from "../src/analytics/history-counters.js";
import { openDatabase } from "../src/db/data-source.js";
import { DEADLINES_DUE_JOB } from "../src/jobs/deadline-jobs.js";
import { EXPIRY_BATCH_SIZE } from "../src/referrals/referral-expiry.js";
import { startServer } from "../src/app/server.js";
import { dropDatabase, freshConfig, purgeNamespace, table } from "./support.js";
import { ENTITIES } from "../src/app/entities.js";

const COUNT = Number(process.argv[2] ?? 100_000);
const RUNS = 3;
const PARTNERS = 10;
const OPEN = 10_000;
const DATABASE = "partner_referrals_bench_backlog";
const BATCH = 5000;

const config = await freshConfig(DATABASE, randomBytes(32).toString("base64url"));
const db = await openDatabase(config.database, ENTITIES);
const sql = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: DATABASE });

console.error(`seeding ${COUNT} overdue referrals…`);
await db.query(
  "INSERT INTO partners (id, name, created_at) VALUES " +
    Array.from({ length: PARTNERS }, (_, i) => `(${i + 1}, 'Partner ${i + 1}', NOW(3))`).join(", "),
);
await db.query(
  "INSERT INTO marketing_profiles (id, partner_id, region, location, contact_email, keywords, preferred_company_sizes, active, created_at, updated_at) VALUES " +
    Array.from(
      { length: PARTNERS },
      (_, i) => `(${i + 1}, ${i + 1}, 'FR', 'Paris', 'p${i + 1}@partner.example', '[]', '[]', 1, NOW(3), NOW(3))`,
    ).join(", "),
);
async function insertReferrals(first: number, count: number, respondBy: (n: number) => string): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const ids = Array.from({ length: n }, (_, i) => first + start + i);
    await db.query(
      `INSERT INTO rfis (id, need, company_size, region, keywords, customer_company_name, customer_contact_name, customer_email, submitted_at) VALUES ` +
        ids
          .map(
            (id) => `(${id}, 'Backlog', 'SIZE_1_TO_9', 'FR', '[]', 'Fabrikam', 'Ann Lee', 'ann@fabrikam.example', NOW(3) - INTERVAL 4 DAY)`,
          )
          .join(", "),
    );
    await db.query(
      `INSERT INTO referrals (id, rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at, respond_by) VALUES ` +
        ids
          .map((id) => {
            const partner = (id % PARTNERS) + 1;
            return `(${id}, ${id}, ${partner}, ${partner}, 'FR', 'SIZE_1_TO_9', 'NEW', 1, NOW(3) - INTERVAL 4 DAY, NOW(3) - INTERVAL 4 DAY, ${respondBy(id)})`;
          })
          .join(", "),
    );
  }
}
// Deadlines spread over the last day, to the millisecond.
await insertReferrals(1, COUNT, (id) => `NOW(3) - INTERVAL ${1000 + ((id * 7919) % 86_400_000)} * 1000 MICROSECOND`);
await recountCounters(db);
await recountOpen();
await db.query("ANALYZE TABLE referrals, referral_events");

/** The profiles' open counts, as the arrivals would have left them. */
async function recountOpen(): Promise<void> {
  await db.query(
    `UPDATE marketing_profiles m
     SET open_referrals = (SELECT COUNT(*) FROM referrals r WHERE r.profile_id = m.id AND r.status IN ('NEW', 'EVALUATING'))`,
  );
}

async function reset(): Promise<void> {
  await db.query(
    `UPDATE referrals SET status = 'NEW', version = 1, updated_at = received_at, closed_at = NULL,
       respond_by = NOW(3) - INTERVAL 1000 + (id * 7919) % 86400000 * 1000 MICROSECOND`,
  );
  await db.query("DELETE FROM referral_events");
  // What the previous run's expiry wrote for the outside world (e-mails to customers and partners).
  await db.query("DELETE FROM outbox_messages");
  await recountCounters(db);
  await recountOpen();
  await new Promise((resolve) => setTimeout(resolve, 5000));
}

async function floor(): Promise<number> {
  const started = performance.now();
  await sql.beginTransaction();
  await sql.query(
    `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note)
     SELECT id, partner_id, version + 1, 'MISS', NOW(3), 'NEW', 'MISSED', 'system', NULL FROM referrals WHERE status = 'NEW' AND respond_by <= NOW(3)`,
  );
  const [updated] = await sql.query<mysql.ResultSetHeader>(
    `UPDATE referrals SET status = 'MISSED', version = version + 1, updated_at = NOW(3), respond_by = NULL, closed_at = NOW(3)
     WHERE status = 'NEW' AND respond_by <= NOW(3)`,
  );
  await sql.commit();
  if (updated.affectedRows !== COUNT) throw new Error(`the floor expired ${updated.affectedRows}, not ${COUNT}`);
  return performance.now() - started;
}

async function anyLeftNew(): Promise<boolean> {
  const [rows] = await sql.query<mysql.RowDataPacket[]>("SELECT 1 FROM referrals WHERE status = 'NEW' LIMIT 1");
  return rows.length > 0;
}

/** From the server's start until its start sweep has expired the whole backlog (it ends on a short batch). */
async function serverRun(): Promise<{ ms: number; listening: number; server: Awaited<ReturnType<typeof startServer>> }> {
  const started = performance.now();
  const server = await startServer(config);
  const listening = performance.now() - started;
  await server.deadlines.sweep();
  const ms = performance.now() - started;
  if (await anyLeftNew()) throw new Error("the sweep ended with referrals left NEW");
  return { ms, listening, server };
}

// Each timing starts from rows just reset, with InnoDB's purge of the reset settled; floor and server alternate.
const floors: number[] = [];
const runs: number[] = [];
let listening = 0;
let jobs = 0;
for (let run = 0; run < RUNS; run++) {
  await reset();
  floors.push(await floor());
  await reset();
  console.error(`run ${run + 1}: starting the server on the backlog…`);
  const { ms, listening: startMs, server } = await serverRun();
  runs.push(ms);
  listening = startMs;
  const [[events]] = await sql.query<mysql.RowDataPacket[]>(
    `SELECT COUNT(*) AS total, COUNT(DISTINCT referral_id) AS referrals FROM referral_events WHERE action = 'MISS'`,
  );
  if (Number(events.total) !== COUNT || Number(events.referrals) !== COUNT)
    throw new Error(`MISS events: ${events.total} for ${events.referrals} referrals`);
  if (run === RUNS - 1) {
    // The job store for 10,000 open referrals with deadlines over the next 72 hours.
    await insertReferrals(COUNT + 1, OPEN, (id) => `NOW(3) + INTERVAL ${5000 + ((id * 104_729) % 259_200_000)} * 1000 MICROSECOND`);
    await server.deadlines.sweep();
    jobs = (await server.scheduler.agenda.db.queryJobs({ name: DEADLINES_DUE_JOB })).total;
  }
  await server.stop();
}
await sql.end();
await db.destroy();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const floorMs = median(floors);
const serverMs = median(runs);
const s = (ms: number) => (ms / 1000).toFixed(2);
console.log(
  table(
    ["", "referrals", `seconds, median of ${RUNS}`, "each run", "ratio"],
    [
      [
        `server start → backlog expired (batches of ${EXPIRY_BATCH_SIZE.toLocaleString("en")})`,
        COUNT.toLocaleString("en"),
        s(serverMs),
        runs.map(s).join(" / "),
        `${(serverMs / floorMs).toFixed(2)}×`,
      ],
      ["one INSERT…SELECT + one UPDATE (floor)", COUNT.toLocaleString("en"), s(floorMs), floors.map(s).join(" / "), ""],
    ],
  ),
);
console.log(
  `\nEvery run: exactly one MISS event per referral. The server listened ${s(listening)} s after its start.` +
    `\nJobs in the store for ${OPEN.toLocaleString("en")} open referrals due over the next 72 h: ${jobs} deadline jobs (plus the recurring sweep).`,
);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);
