// A burst of RFIs: N concurrent submitRfi without partnerIds (automatic routing) over GraphQL/HTTP to
// a real server in its own process, as `npm start` runs it (production mode, access log on), with
// the default pool (20 connections, 5 s bounded wait), 5 partners with FR profiles. Every call must
// be answered (data or SERVICE_UNAVAILABLE) and `me` must answer at once afterwards. Baseline, in
// this process: the same N RFIs written by hand-written transactions (one RFI, three referrals,
// three events) on a plain mysql2 pool of the same size.
// Usage: npm run bench:burst [-- <count>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { GraphQLClient } from "../test/support/client.js";
import { cpuMsOf, dropDatabase, percentiles, purgeNamespace, startServerProcess, table } from "./support.js";

const COUNT = Number(process.argv[2] ?? 300);
const PARTNERS = 5;
const DATABASE = "partner_referrals_bench_burst";
const PORT = 4713;
/** The server's pool (its default size), and the baseline's. */
const POOL_SIZE = 20;
const adminKey = randomBytes(32).toString("base64url");

await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
// PROFILE=<dir> writes the server's CPU profile there.
const server = await startServerProcess(
  PORT,
  DATABASE,
  adminKey,
  process.env.PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE}`] : [],
  { LOG_LEVEL: "info", DATABASE_POOL_SIZE: String(POOL_SIZE) },
);
const url = `http://127.0.0.1:${PORT}/graphql`;
const admin = new GraphQLClient(url, adminKey);
for (let i = 0; i < PARTNERS; i++) {
  const { createPartner } = await admin.data(`mutation($name: String!) { createPartner(input: { name: $name }) { partner { id } } }`, {
    name: `Burst partner ${i + 1}`,
  });
  await admin.data(
    `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
       contactEmail: "burst@partner.example", keywords: ["cloud", "erp"], preferredCompanySizes: [] }) { id } }`,
    { id: createPartner.partner.id },
  );
}
const { issueApiKey } = await admin.data(`mutation { issueApiKey(input: { role: INTAKE, label: "burst" }) { secret } }`);
const intake = new GraphQLClient(url, issueApiKey.secret);

const input = {
  customer: { companyName: "Fabrikam", contactName: "Ann Lee", email: "ann@fabrikam.example", phone: "+33 1 23 45 67 89" },
  need: "Move our ERP to the cloud",
  companySize: "SIZE_50_TO_249",
  industry: "Manufacturing",
  region: "FR",
  keywords: ["cloud", "erp"],
  maxPartners: 3,
};
const SUBMIT = `mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } referrals { id status } } }`;

interface Answer {
  ms: number;
  outcome: string;
}
const serverCpuBefore = await cpuMsOf(server.pid!);
const started = performance.now();
const answers: Answer[] = await Promise.all(
  Array.from({ length: COUNT }, async () => {
    const start = performance.now();
    const { data, errors } = await intake.request(SUBMIT, { input });
    const outcome = errors ? String(errors[0].extensions?.code) : data!.submitRfi.referrals.length === 3 ? "ok" : "wrong";
    return { ms: performance.now() - start, outcome };
  }),
);
const burstMs = performance.now() - started;
const serverCpuInBurst = (await cpuMsOf(server.pid!)) - serverCpuBefore;
const meStarted = performance.now();
const { me } = await admin.data(`{ me { role } }`);
const meMs = performance.now() - meStarted;
if (me.role !== "ADMIN") throw new Error("me did not answer");
// The deliveries and fit scores the burst called for, most of them once it is over: their CPU counts too.
await new Promise((resolve) => setTimeout(resolve, 3_000));
const serverCpuInAll = (await cpuMsOf(server.pid!)) - serverCpuBefore;
server.kill("SIGTERM");
await new Promise((resolve) => server.once("exit", resolve));

// The baseline: the same writes, hand-written, on a plain pool of the same size.
const pool = mysql.createPool({ host: "127.0.0.1", port: 3306, user: "root", database: DATABASE, connectionLimit: POOL_SIZE });
const [[{ rfis }]] = await pool.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS rfis FROM rfis");
const [partners] = await pool.query<mysql.RowDataPacket[]>(
  "SELECT partner_id AS partnerId, id AS profileId FROM marketing_profiles LIMIT 3",
);
const baselineCpuBefore = process.cpuUsage();
const baselineStarted = performance.now();
const baseline = await Promise.all(
  Array.from({ length: COUNT }, async () => {
    const start = performance.now();
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      const [rfi] = await connection.query<mysql.ResultSetHeader>(
        `INSERT INTO rfis (need, company_size, industry, region, keywords, customer_company_name, customer_contact_name, customer_email,
           customer_phone, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(3))`,
        [
          input.need,
          input.companySize,
          input.industry,
          input.region,
          JSON.stringify(input.keywords),
          "Fabrikam",
          "Ann Lee",
          "ann@fabrikam.example",
          "+33 1 23 45 67 89",
        ],
      );
      for (const { partnerId, profileId } of partners) {
        const [referral] = await connection.query<mysql.ResultSetHeader>(
          `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, industry, status, version, received_at, updated_at, respond_by)
           VALUES (?, ?, ?, 'FR', ?, ?, 'NEW', 1, NOW(3), NOW(3), NOW(3) + INTERVAL 72 HOUR)`,
          [rfi.insertId, partnerId, profileId, input.companySize, input.industry],
        );
        await connection.query(
          "INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor) VALUES (?, ?, 1, 'RECEIVE', NOW(3), NULL, 'NEW', 'burst')",
          [referral.insertId, partnerId],
        );
      }
      await connection.commit();
    } finally {
      connection.release();
    }
    return performance.now() - start;
  }),
);
const baselineMs = performance.now() - baselineStarted;
const { user, system } = process.cpuUsage(baselineCpuBefore);
const baselineCpu = (user + system) / 1000;
await pool.end();

const ok = answers.filter((answer) => answer.outcome === "ok");
const outcomes = new Map<string, number>();
for (const { outcome } of answers) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
const server99 = percentiles(answers.map((answer) => answer.ms));
const base99 = percentiles(baseline);
const ms = (x: number) => x.toFixed(0);
console.log(
  table(
    ["", "calls", "answered", "succeeded", "p50 ms", "p99 ms", "max ms", "all done ms", "process CPU ms per call"],
    [
      [
        "submitRfi over GraphQL (automatic routing)",
        COUNT,
        answers.length,
        ok.length,
        ms(server99.p50),
        ms(server99.p99),
        ms(server99.max),
        ms(burstMs),
        `${(serverCpuInBurst / COUNT).toFixed(2)} (${(serverCpuInAll / COUNT).toFixed(2)} with its deliveries)`,
      ],
      [
        "hand-written transactions on mysql2 (baseline)",
        COUNT,
        baseline.length,
        baseline.length,
        ms(base99.p50),
        ms(base99.p99),
        ms(base99.max),
        ms(baselineMs),
        (baselineCpu / COUNT).toFixed(2),
      ],
      [
        "ratio",
        "",
        "",
        "",
        `${(server99.p50 / base99.p50).toFixed(1)}×`,
        `${(server99.p99 / base99.p99).toFixed(1)}×`,
        "",
        `${(burstMs / baselineMs).toFixed(1)}×`,
        `${(serverCpuInBurst / baselineCpu).toFixed(1)}× (${(serverCpuInAll / baselineCpu).toFixed(1)}×)`,
      ],
    ],
  ),
);
console.log(
  `\nOutcomes: ${[...outcomes].map(([outcome, n]) => `${outcome} ${n}`).join(", ")}; ${rfis} RFIs written (one per success).` +
    ` \`me\` answered ${ms(meMs)} ms after the burst.`,
);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);
