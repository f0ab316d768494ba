import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Request, Response } from "express";
import mysql from "mysql2/promise";
import WebSocket from "ws";
import { loadConfig, type Config } from "../src/config/config.js";
import type { GraphQLClient } from "../test/support/client.js";
import { rfiInput } from "../test/support/fixtures.js";
import { percentiles } from "../test/support/percentiles.js";
import { purgeNamespace } from "../test/support/redis.js";

export { percentiles, purgeNamespace };

export async function dropDatabase(name: string): Promise<void> {
  const connection = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await connection.end();
  }
}

/**
 * The configuration of an in-process server on a database of the benchmark's own, dropped first
 * with its jobs, so that every run starts from nothing as a fresh machine would.
 */
export async function freshConfig(database: string, adminKey: string, overrides: Record<string, string> = {}): Promise<Config> {
  await dropDatabase(database);
  await purgeNamespace(database);
  return loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: `mysql://root@127.0.0.1:3306/${database}`,
    ADMIN_API_KEY: adminKey,
    ...BENCH_LIMITS,
    ...overrides,
  });
}

/**
 * Rate limits above what one load generator can send: the benchmarks measure the server (the limits
 * still count every request), not the limit.
 */
const BENCH_LIMITS = { RATE_LIMIT: "1000000", MAX_SOCKETS_PER_KEY: "10000" };

/** User + system CPU time of a process so far, in ms (Linux). */
export async function cpuMsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** One side of a latency table: its row's label, its latencies in ms, its cells in the extra columns. */
export interface LatencySide {
  label: string;
  latencies: number[];
  extra?: (string | number)[];
}

/**
 * Prints a Markdown table of the server's latencies against the baseline's, then `note`: each side's
 * count (in the column `counted`), its cells in the `extra` columns, its p50, p95, p99 and max, then a
 * row of server/baseline ratios (a baseline under 1 ms counts as 1 ms, so that the ratio stays finite).
 */
export function reportLatencies(report: {
  counted: string;
  extra?: string[];
  server: LatencySide;
  baseline: LatencySide;
  note: string;
}): void {
  const { counted, extra = [], server, baseline } = report;
  const s = percentiles(server.latencies);
  const b = percentiles(baseline.latencies);
  const ratio = (x: number, y: number) => `${(x / Math.max(y, 1)).toFixed(1)}×`;
  console.log(
    table(
      ["", counted, ...extra, "p50 ms", "p95 ms", "p99 ms", "max ms"],
      [
        [server.label, s.n, ...(server.extra ?? []), s.p50, s.p95, s.p99, s.max],
        [baseline.label, b.n, ...(baseline.extra ?? []), b.p50, b.p95, b.p99, b.max],
        ["ratio", "", ...extra.map(() => ""), ratio(s.p50, b.p50), ratio(s.p95, b.p95), ratio(s.p99, b.p99), ratio(s.max, b.max)],
      ],
    ),
  );
  console.log(`\n${report.note}`);
}

/** The Node flags `npm start` runs the server with. */
/** The rfis columns the seeds write, named so that a column added later (with its default) does not break them. */
export const RFI_COLUMNS =
  "(id, need, company_size, industry, region, keywords, customer_company_name, customer_contact_name, customer_email, customer_phone, submitted_at, submitted_by_key_id)";

export const SERVER_NODE_FLAGS = ["--max-semi-space-size=64"];

/**
 * The server as `npm start` runs it, in a process of its own (production mode, quiet logs) on a
 * database of the benchmark's, up and answering /healthz. `flags` are added to Node's.
 */
export async function startServerProcess(
  port: number,
  database: string,
  adminKey: string,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const inspected = flags.some((flag) => flag.startsWith("--inspect"));
  // With the access log on (LOG_LEVEL=info), stdout goes to a file, as production sends it to a collector.
  const logFile = env.LOG_LEVEL && env.LOG_LEVEL !== "warn" ? join(tmpdir(), `bench-server-${port}.log`) : undefined;
  const server = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...flags, fileURLToPath(new URL("../src/main.js", import.meta.url))], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      PORT: String(port),
      DATABASE_URL: `mysql://root@127.0.0.1:3306/${database}`,
      ADMIN_API_KEY: adminKey,
      ...BENCH_LIMITS,
      ...env,
    },
    // With an inspector, stderr is read for its address (then echoed).
    stdio: ["inherit", logFile ? openSync(logFile, "w") : "inherit", inspected ? "pipe" : "inherit"],
  });
  if (inspected) {
    void inspectorUrl(server);
    server.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return server;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`the server on port ${port} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * What a process holds after a full garbage collection (heap in use + memory outside the heap, such
 * as socket buffers), through the inspector it was started with (`--inspect=127.0.0.1:0`; `stderr`
 * piped, where Node names the inspector's address).
 */
export async function memoryAfterGc(child: ChildProcess): Promise<number> {
  const url = await inspectorUrl(child);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let next = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<{ result?: { result?: { value?: string } } }>((resolve) => {
      const id = ++next;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(String(data)) as { id?: number };
        if (message.id !== id) return;
        socket.off("message", onMessage);
        resolve(message as never);
      };
      socket.on("message", onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.collectGarbage");
  const { result } = await call("Runtime.evaluate", {
    expression: "JSON.stringify(process.memoryUsage())",
    returnByValue: true,
  });
  socket.close();
  const usage = JSON.parse(result!.result!.value!) as { heapUsed: number; external: number };
  return usage.heapUsed + usage.external;
}

const inspectorUrls = new WeakMap<ChildProcess, Promise<string>>();

function inspectorUrl(child: ChildProcess): Promise<string> {
  let url = inspectorUrls.get(child);
  if (!url) {
    url = new Promise((resolve) => {
      let seen = "";
      child.stderr!.on("data", (chunk: Buffer) => {
        seen += String(chunk);
        const found = /Debugger listening on (ws:\/\/\S+)/.exec(seen);
        if (found) resolve(found[1]);
      });
    });
    inspectorUrls.set(child, url);
  }
  return url;
}

/**
 * For the hand-written baselines: the API key of `req`, checked as the server checks it (SHA-256 of
 * the Bearer secret, one look-up, not revoked) and, given `role`, of that role; otherwise it answers
 * 401 with the server's error and gives undefined.
 */
export async function baselineKey(
  pool: mysql.Pool,
  req: Request,
  res: Response,
  role?: string,
): Promise<{ role: string; partnerId: string | null } | undefined> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  const [keys] = await pool.query<mysql.RowDataPacket[]>(
    "SELECT role, partner_id FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
    [
      createHash("sha256")
        .update(match?.[1] ?? "")
        .digest("hex"),
    ],
  );
  if (keys.length === 0 || (role !== undefined && keys[0].role !== role)) {
    res.status(401).json({ errors: [{ message: "this API key is unknown or revoked", extensions: { code: "UNAUTHENTICATED" } }] });
    return undefined;
  }
  return { role: keys[0].role, partnerId: keys[0].partner_id };
}

/** Starts `run` for each index at `perSecond`, open loop: without waiting for earlier ones. */
export async function paced(count: number, perSecond: number, run: (index: number) => Promise<void>): Promise<void> {
  const started: Promise<void>[] = [];
  const start = Date.now();
  for (let index = 0; index < count; index++) {
    const wait = start + (index * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    started.push(run(index));
  }
  await Promise.all(started);
}

/** Creates partner Contoso with a marketing profile (FR, alerts@contoso.example); its id. */
export async function createContoso(admin: GraphQLClient): Promise<string> {
  const { createPartner } = await admin.data(`mutation { createPartner(input: { name: "Contoso" }) { partner { id } } }`);
  const partnerId: string = createPartner.partner.id;
  await admin.data(
    `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris", contactEmail: "alerts@contoso.example",
       keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
    { id: partnerId },
  );
  return partnerId;
}

/** Submits `count` RFIs routed to `partnerId` at `perSecond`, open loop (see paced()). */
export function submitRfisPaced(admin: GraphQLClient, partnerId: string, count: number, perSecond: number): Promise<void> {
  return paced(
    count,
    perSecond,
    async () =>
      void (await admin.data(`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } } }`, {
        input: rfiInput({ partnerIds: [partnerId] }),
      })),
  );
}
