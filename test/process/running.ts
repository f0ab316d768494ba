import mysql from "mysql2/promise";
import { parseDatabaseUrl } from "../../src/config/addresses.js";
import { TEST_DATABASE_URL } from "../support/database.js";
import { freePort, startProcess, untilServing } from "../support/process.js";

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
  await untilServing(running, port);
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
