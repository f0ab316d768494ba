import { createServer } from "node:net";
import mysql from "mysql2/promise";
import { parseDatabaseUrl } from "../../src/config.js";
import { TEST_DATABASE_URL } from "../support/database.js";
import { startProcess, type Exit } from "../support/process.js";

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {
    return false;
  }
}

export interface RunningProcess extends ReturnType<typeof startProcess> {
  port: number;
  /** Kills the process if it still runs. */
  kill(): Promise<void>;
}

/** The server process (`npm start`'s) on the test database, once /healthz answers. */
export async function startServing(env: Record<string, string> = {}, databaseUrl = TEST_DATABASE_URL): Promise<RunningProcess> {
  const port = await freePort();
  // Rate limits in the process's memory: its requests spend no allowance shared with other tests.
  const running = startProcess({
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    RATE_LIMIT_STORE: "memory",
    ...env,
  });
  let exit: Exit | undefined;
  void running.exited.then((result) => (exit = result));
  while (!(await healthy(port))) {
    if (exit) throw new Error(`the server exited with ${exit.code} before serving:\n${exit.stdout}\n${exit.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    ...running,
    port,
    async kill() {
      if (running.child.exitCode === null && running.child.signalCode === null) {
        running.child.kill("SIGKILL");
        await running.exited;
      }
    },
  };
}

/** A connection to the database of `url`, as another client would hold one. */
export function connectTo(url = TEST_DATABASE_URL): Promise<mysql.Connection> {
  const { host, port, user, password, database } = parseDatabaseUrl(url);
  return mysql.createConnection({ host, port, user, password, database });
}

/** The JSON log lines of `stdout` at `level` (pino's numbers: 50 error, 60 fatal). */
export function logLines(stdout: string, level: number): { level: number; msg: string; [key: string]: unknown }[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level === level);
}
