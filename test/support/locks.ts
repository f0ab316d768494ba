import { setTimeout } from "node:timers/promises";
import mysql from "mysql2/promise";
import { testDatabase } from "./database.js";
import { eventually } from "./wait.js";

/** A connection of its own to the test database, as another client (or another instance) holds one. */
export function lockingConnection(): Promise<mysql.Connection> {
  const { host, port, user, password, database } = testDatabase;
  return mysql.createConnection({ host, port, user, password, database });
}

export interface Waiting {
  thread: number;
  statement: string;
}

/** When INNODB_TRX was last read: InnoDB refreshes it only once nobody has read it for 100 ms. */
let lastRead = 0;

/**
 * The transactions of the test database waiting for a lock right now, with the statement that waits.
 * (INNODB_TRX lists every database's: other suites may run beside this one.) Reads at most every 150 ms,
 * so that each read sees a fresh snapshot.
 */
export async function waitingForLocks(observer: mysql.Connection): Promise<Waiting[]> {
  await setTimeout(Math.max(0, lastRead + 150 - Date.now()));
  try {
    const [rows] = await observer.query(
      `SELECT t.trx_mysql_thread_id AS thread, COALESCE(t.trx_query, '') AS statement
       FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
       WHERE t.trx_state = 'LOCK WAIT' AND p.DB = ?`,
      [testDatabase.database],
    );
    return (rows as { thread: number | string; statement: string }[]).map((row) => ({
      thread: Number(row.thread),
      statement: row.statement,
    }));
  } finally {
    lastRead = Date.now();
  }
}

/** Resolves once a transaction waits for a lock as `matches` says. */
export async function untilWaiting(observer: mysql.Connection, what: string, matches: (waiting: Waiting) => boolean): Promise<void> {
  await eventually(what, async () => (await waitingForLocks(observer)).some(matches), 20_000);
}

let weights = 0;

/**
 * Gives the open transaction of `connection` weight (rows it wrote, to be undone): InnoDB rolls back
 * the lightest transaction of a deadlock, and the tests want the server's to be the one.
 */
export async function weighDown(connection: mysql.Connection, rows = 300): Promise<void> {
  weights += 1;
  const now = new Date();
  const names = Array.from({ length: rows }, (_, i) => [`Lock ballast ${process.pid}-${weights}-${i}`, now]);
  await connection.query("INSERT INTO partners (name, created_at) VALUES ?", [names]);
}
