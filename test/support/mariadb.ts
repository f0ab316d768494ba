import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { freePort } from "./process.js";

/** A MariaDB server of the test's own, from Debian's binaries, in a temporary directory on a spare port. */
export interface OwnMariaDb {
  port: number;
  /** A database URL on it (root, no password). */
  url(database: string): string;
  stop(): Promise<void>;
}

const START_WAIT_MS = 30_000;

/** Initialises a data directory, starts `mariadbd` with `args` (server options), and lets root in over TCP without a password. */
export async function startOwnMariaDb(args: string[] = []): Promise<OwnMariaDb> {
  const dir = await mkdtemp(join(tmpdir(), "partner-referrals-mariadb-"));
  const socketPath = join(dir, "mariadb.sock");
  await promisify(execFile)("mariadb-install-db", ["--no-defaults", `--datadir=${join(dir, "data")}`, "--user=root"]);
  const port = await freePort();
  const server: ChildProcess = spawn(
    "mariadbd",
    [
      "--no-defaults",
      `--datadir=${join(dir, "data")}`,
      `--port=${port}`,
      `--socket=${socketPath}`,
      "--bind-address=127.0.0.1",
      "--user=root",
      ...args,
    ],
    { stdio: "ignore" },
  );
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // root comes in over the socket (unix_socket authentication), then over TCP with no password.
    const deadline = Date.now() + START_WAIT_MS;
    for (;;) {
      try {
        const connection = await mysql.createConnection({ socketPath, user: "root" });
        await connection.query("ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('')");
        await connection.end();
        break;
      } catch (error) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`mariadbd did not start: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: (database) => `mysql://root@127.0.0.1:${port}/${database}`, stop };
}
