// The change feed's throughput. 100,000 referral changes across 20 partners (two per referral: its
// arrival, then the partner's interest), already placed in the feed in batches of 100, are written
// straight to the tables of a server that runs as `npm start` runs it. A CRM sync loop then reads the
// whole feed with referralChanges(first: 500), following endCursor: as ADMIN (every change), then as
// each PARTNER key in turn (its ~5,000 changes each), reporting changes per second and the time per
// page. Baseline, in the same run: a hand-written express + mysql2 server (this file, forked) that
// checks the key as the server does and answers the same JSON for the same keyset pages in one join;
// read by the same loop, alternating with the server, after checking both answer the same JSON.
// Last, sequencing: 20,000 new changes are committed in one statement with no batch, one submitRfi
// nudges the running server's sequencer (as its own commits do), and it is timed until all are placed.
// Usage: npm run bench:feed [-- <changes seeded> [<changes to sequence>]]
import "reflect-metadata";
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { deepStrictEqual } from "node:assert";
import { fileURLToPath } from "node:url";
import express from "express";
import mysql from "mysql2/promise";
import { GraphQLClient } from "../test/support/client.js";
import { rfiInput } from "../test/support/fixtures.js";
import { baselineKey, dropDatabase, percentiles, purgeNamespace, SERVER_NODE_FLAGS, startServerProcess, table } from "./support.js";

const CHANGES = Number(process.argv[2] ?? 100_000);
const TO_SEQUENCE = Number(process.argv[3] ?? 20_000);
const PARTNERS = 20;
const PER_BATCH = 100;
const FIRST = 500;
const ROUNDS = 2;
const DATABASE = "partner_referrals_bench_feed";
const SERVER_PORT = 4751;
const BASELINE_PORT = 4752;
const FEED = `query($first: Int!, $after: String) { referralChanges(first: $first, after: $after) {
  edges { cursor node { cursor at action from to version referral { id status version } } } pageInfo { hasNextPage endCursor } } }`;

/** The baseline, in a child process: express, a mysql2 pool, one keyset query per page. */
function serveBaseline(): void {
  const pool = mysql.createPool({
    host: "127.0.0.1",
    user: "root",
    database: DATABASE,
    connectionLimit: 20,
    timezone: "Z",
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  const cursorOf = (batch: string, id: string) => Buffer.from(`change:${batch}:${id}`).toString("base64url");
  const app = express();
  app.use(express.json());
  app.post("/graphql", async (req, res) => {
    const key = await baselineKey(pool, req, res);
    if (!key) return;
    const first = Number(req.body.variables?.first ?? 100);
    const after = /^change:(\d+):(\d+)$/.exec(Buffer.from(String(req.body.variables?.after ?? ""), "base64url").toString("utf8"));
    const conditions = [after ? "(e.feed_batch > ? OR (e.feed_batch = ? AND e.id > ?))" : "e.feed_batch IS NOT NULL"];
    const parameters: unknown[] = after ? [after[1], after[1], after[2]] : [];
    if (key.role === "PARTNER") {
      conditions.unshift("e.partner_id = ?");
      parameters.unshift(key.partnerId);
    }
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT e.id, e.feed_batch, e.action, e.at, e.from_status, e.to_status, e.version, r.id AS referral_id, r.status, r.version AS referral_version
       FROM referral_events e JOIN referrals r ON r.id = e.referral_id WHERE ${conditions.join(" AND ")} ORDER BY e.feed_batch, e.id LIMIT ?`,
      [...parameters, first + 1],
    );
    const edges = rows.slice(0, first).map((row) => {
      const cursor = cursorOf(row.feed_batch, row.id);
      return {
        cursor,
        node: {
          cursor,
          at: (row.at as Date).toISOString(),
          action: row.action,
          from: row.from_status,
          to: row.to_status,
          version: row.version,
          referral: { id: row.referral_id, status: row.status, version: row.referral_version },
        },
      };
    });
    res.json({
      data: { referralChanges: { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } } },
    });
  });
  const server = app.listen(BASELINE_PORT, "127.0.0.1", () => process.send?.("listening"));
  process.once("SIGTERM", () => server.close(() => void pool.end().catch(() => undefined)));
  process.on("disconnect", () => process.exit()); // the benchmark has gone
}

interface Read {
  changes: number;
  ms: number;
  pages: number[];
}

/** The CRM's sync loop: every change from the beginning, a page at a time. */
async function readAll(url: string, key: string): Promise<Read> {
  const pages: number[] = [];
  let changes = 0;
  let after: string | null = null;
  const started = performance.now();
  for (;;) {
    const sent = performance.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: FEED, variables: { first: FIRST, after } }),
    });
    const body = (await response.json()) as {
      data?: { referralChanges: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      errors?: unknown;
    };
    pages.push(performance.now() - sent);
    if (!body.data) throw new Error(`${url}: ${JSON.stringify(body.errors)}`);
    changes += body.data.referralChanges.edges.length;
    if (!body.data.referralChanges.pageInfo.hasNextPage) break;
    after = body.data.referralChanges.pageInfo.endCursor;
  }
  return { changes, ms: performance.now() - started, pages };
}

async function bench(): Promise<void> {
  const adminKey = randomBytes(32).toString("base64url");
  await dropDatabase(DATABASE);
  await purgeNamespace(DATABASE);
  const server = await startServerProcess(SERVER_PORT, DATABASE, adminKey);
  process.once("exit", () => server.killed || server.kill("SIGTERM")); // also when the benchmark fails
  const url = `http://127.0.0.1:${SERVER_PORT}/graphql`;
  const admin = new GraphQLClient(url, adminKey);

  console.error(`seeding ${CHANGES.toLocaleString("en")} changes…`);
  const partners: { id: string; key: string; profile: string }[] = [];
  for (let i = 0; i < PARTNERS; i++) {
    const { createPartner } = await admin.data(
      `mutation($name: String!) { createPartner(input: { name: $name }) { partner { id } apiKey } }`,
      { name: `CRM ${i + 1}` },
    );
    const { upsertMarketingProfile } = await admin.data(
      `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
         contactEmail: "crm@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
      { id: createPartner.partner.id },
    );
    partners.push({ id: createPartner.partner.id, key: createPartner.apiKey, profile: upsertMarketingProfile.id });
  }
  const db = await mysql.createConnection({ host: "127.0.0.1", user: "root", database: DATABASE, timezone: "Z" });
  const referrals = Math.ceil(CHANGES / 2);
  const base = Date.UTC(2026, 0, 1);
  const partnerOf = (referral: number) => partners[referral % PARTNERS];
  for (let start = 1; start <= referrals; start += 5000) {
    const ids = Array.from({ length: Math.min(5000, referrals - start + 1) }, (_, i) => start + i);
    const at = (id: number) => new Date(base + id * 1000);
    await db.query(
      "INSERT INTO rfis (id, need, company_size, region, keywords, customer_company_name, customer_contact_name, customer_email, customer_phone, submitted_at) VALUES ?",
      [
        ids.map((id) => [
          id,
          `Need number ${id}`,
          "SIZE_50_TO_249",
          "FR",
          '["cloud"]',
          `Customer ${id}`,
          "Ann Lee",
          `ann${id}@customer.example`,
          null,
          at(id),
        ]),
      ],
    );
    await db.query(
      "INSERT INTO referrals (id, rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at, respond_by) VALUES ?",
      [
        ids.map((id) => [
          id,
          id,
          partnerOf(id).id,
          partnerOf(id).profile,
          "FR",
          "SIZE_50_TO_249",
          CHANGES >= 2 * id ? "EVALUATING" : "NEW",
          CHANGES >= 2 * id ? 2 : 1,
          at(id),
          at(id),
          null,
        ]),
      ],
    );
  }
  // Change k: the arrival of referral k, then (past the referrals) the interest in referral k - referrals; in batches of PER_BATCH.
  for (let start = 1; start <= CHANGES; start += 5000) {
    const ids = Array.from({ length: Math.min(5000, CHANGES - start + 1) }, (_, i) => start + i);
    await db.query(
      "INSERT INTO referral_events (id, referral_id, partner_id, version, feed_batch, action, at, from_status, to_status, actor, note) VALUES ?",
      [
        ids.map((k) => {
          const arrival = k <= referrals;
          const referral = arrival ? k : k - referrals;
          return [
            k,
            referral,
            partnerOf(referral).id,
            arrival ? 1 : 2,
            Math.ceil(k / PER_BATCH),
            arrival ? "RECEIVE" : "EXPRESS_INTEREST",
            new Date(base + k * 1000),
            arrival ? null : "NEW",
            arrival ? "NEW" : "EVALUATING",
            arrival ? "intake" : "CRM",
            null,
          ];
        }),
      ],
    );
  }
  await db.query("UPDATE feed_sequence SET last_batch = ? WHERE id = 1", [Math.ceil(CHANGES / PER_BATCH)]);
  await db.query("ANALYZE TABLE referrals, referral_events, rfis");

  const baseline = fork(fileURLToPath(import.meta.url), [], {
    env: { PATH: process.env.PATH, FEED_BASELINE: "1" },
    execArgv: SERVER_NODE_FLAGS,
  });
  await new Promise((resolve) => baseline.once("message", resolve));
  process.once("exit", () => baseline.killed || baseline.kill("SIGTERM"));
  const baselineUrl = `http://127.0.0.1:${BASELINE_PORT}/graphql`;

  // Same JSON from both: the first page and one further on, as ADMIN and as a partner.
  for (const key of [adminKey, partners[0].key]) {
    for (const after of [
      null,
      Buffer.from(`change:${Math.ceil(CHANGES / PER_BATCH / 2)}:${Math.floor(CHANGES / 2)}`).toString("base64url"),
    ]) {
      const [ours, theirs] = await Promise.all(
        [url, baselineUrl].map(async (target) =>
          (
            await fetch(target, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
              body: JSON.stringify({ query: FEED, variables: { first: FIRST, after } }),
            })
          ).json(),
        ),
      );
      deepStrictEqual(theirs, ours, "the baseline's JSON differs from the server's");
    }
  }

  const runs = { admin: { server: [] as Read[], baseline: [] as Read[] }, partner: { server: [] as Read[], baseline: [] as Read[] } };
  const everyPartner = async (target: string): Promise<Read> => {
    const reads: Read[] = [];
    for (const partner of partners) reads.push(await readAll(target, partner.key));
    return {
      changes: reads.reduce((sum, read) => sum + read.changes, 0),
      ms: reads.reduce((sum, read) => sum + read.ms, 0),
      pages: reads.flatMap((read) => read.pages),
    };
  };
  await readAll(url, partners[1].key); // warm-up
  await readAll(baselineUrl, partners[1].key);
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`round ${round + 1} of ${ROUNDS}…`);
    runs.admin.server.push(await readAll(url, adminKey));
    runs.admin.baseline.push(await readAll(baselineUrl, adminKey));
    runs.partner.server.push(await everyPartner(url));
    runs.partner.baseline.push(await everyPartner(baselineUrl));
  }
  for (const read of [...runs.admin.server, ...runs.admin.baseline])
    if (read.changes !== CHANGES) throw new Error(`an ADMIN read got ${read.changes} changes, not ${CHANGES}`);
  for (const read of [...runs.partner.server, ...runs.partner.baseline])
    if (read.changes !== CHANGES) throw new Error(`the partners' reads got ${read.changes} changes, not ${CHANGES}`);
  baseline.kill("SIGTERM");

  // Sequencing: TO_SEQUENCE changes committed at once without a batch; the server's sequencer places them.
  const pending = Array.from({ length: TO_SEQUENCE }, (_, i) => {
    const referral = (i % referrals) + 1;
    return [
      referral,
      partnerOf(referral).id,
      3 + Math.floor(i / referrals),
      null,
      "UPDATE_ESTIMATE",
      new Date(),
      "EVALUATING",
      "EVALUATING",
      "CRM",
      null,
    ];
  });
  await db.query(
    "INSERT INTO referral_events (referral_id, partner_id, version, feed_batch, action, at, from_status, to_status, actor, note) VALUES ?",
    [pending],
  );
  const committed = performance.now();
  // The server's own commits nudge its sequencer: one arrival through the API, as any write would (else it polls every second).
  await admin.data(`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } } }`, {
    input: rfiInput({ partnerIds: [partners[0].id] }),
  });
  let firstPlaced: number | undefined;
  let leftAtFirst = 0;
  for (;;) {
    const [[{ waiting }]] = await db.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS waiting FROM referral_events WHERE feed_batch IS NULL",
    );
    if (firstPlaced === undefined && Number(waiting) <= TO_SEQUENCE) {
      firstPlaced = performance.now();
      leftAtFirst = Number(waiting);
    }
    if (Number(waiting) === 0) break;
    if (performance.now() - committed > 120_000) throw new Error(`${waiting} changes still without a batch after 2 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const placed = performance.now();
  const [[{ batches }]] = await db.query<mysql.RowDataPacket[]>(
    "SELECT COUNT(DISTINCT feed_batch) AS batches FROM referral_events WHERE id > ?",
    [CHANGES],
  );
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("exit", resolve));
  await db.end();

  const rows: (string | number)[][] = [];
  for (const [who, { server: s, baseline: b }] of [
    ["ADMIN, every change", runs.admin],
    [`PARTNER, each of ${PARTNERS} keys in turn`, runs.partner],
  ] as const) {
    const rate = (reads: Read[]) =>
      reads.reduce((sum, read) => sum + read.changes, 0) / (reads.reduce((sum, read) => sum + read.ms, 0) / 1000);
    const [ps, pb] = [s, b].map((reads) => percentiles(reads.flatMap((read) => read.pages)));
    rows.push(
      [`${who}: server`, ps.n, rate(s).toFixed(0), ps.p50.toFixed(1), ps.p99.toFixed(1)],
      [`${who}: express + mysql2 (baseline)`, pb.n, rate(b).toFixed(0), pb.p50.toFixed(1), pb.p99.toFixed(1)],
      [
        `${who}: ratio server/baseline`,
        "",
        `${(rate(s) / rate(b)).toFixed(2)}×`,
        `${(ps.p50 / pb.p50).toFixed(2)}×`,
        `${(ps.p99 / pb.p99).toFixed(2)}×`,
      ],
    );
  }
  console.log(table(["", "pages", "changes/s", "p50 ms per page", "p99 ms per page"], rows));
  console.log(
    `\n${CHANGES.toLocaleString("en")} changes in batches of ${PER_BATCH} across ${PARTNERS} partners; pages of ${FIRST}; ${ROUNDS} rounds, server and baseline alternating, after a warm-up.\n`,
  );
  const fromCommit = placed - committed;
  const fromFirst = placed - firstPlaced!;
  console.log(
    table(
      ["sequencing", "changes", "ms", "changes/s"],
      [
        [
          `from commit until all placed (${batches} batches)`,
          TO_SEQUENCE + 1,
          fromCommit.toFixed(0),
          ((TO_SEQUENCE + 1) / (fromCommit / 1000)).toFixed(0),
        ],
        [
          "after the first batch was seen",
          leftAtFirst,
          fromFirst.toFixed(0),
          leftAtFirst > 0 ? (leftAtFirst / (fromFirst / 1000)).toFixed(0) : "–",
        ],
      ],
    ),
  );
  console.log(
    `\n${TO_SEQUENCE.toLocaleString("en")} changes committed in one statement without a batch, then one submitRfi to nudge the sequencer (+1 change); the count left is polled every 10 ms.`,
  );
  await dropDatabase(DATABASE);
  await purgeNamespace(DATABASE);
  process.exit(0);
}

if (process.env.FEED_BASELINE) serveBaseline();
else await bench();
