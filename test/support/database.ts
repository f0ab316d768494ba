import mysql from "mysql2/promise";
import type { DataSource } from "typeorm";
import { parseDatabaseUrl } from "../../src/config/addresses.js";

/** The suite's own database, never the one `npm start` uses. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "mysql://root@127.0.0.1:3306/partner_referrals_test";
export const testDatabase = parseDatabaseUrl(TEST_DATABASE_URL);

/** The URL of another database on the test server (a test's own, made fresh by migrations). */
export function databaseUrlOf(database: string): string {
  const { host, port, user, password } = testDatabase;
  const credentials = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return `mysql://${credentials}@${host}:${port}/${database}`;
}

/** Starts each run from nothing, so migrations are applied exactly as on a fresh machine. */
export async function dropTestDatabase(database = testDatabase.database): Promise<void> {
  const { host, port, user, password } = testDatabase;
  const connection = await mysql.createConnection({ host, port, user, password });
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await connection.end();
  }
}

const TABLES = [
  "outbox_messages",
  "referral_events",
  "referrals",
  "idempotency_records",
  "rfis",
  "api_keys",
  "marketing_profiles",
  "partner_counters",
  "fit_rescoring",
  "webhook_endpoints",
  "partners",
];

/**
 * Empties the outbox of a database that exists already, before a server starts on it: the server's
 * relay would otherwise deliver what an earlier test left pending.
 */
export async function emptyOutboxIfAny(): Promise<void> {
  const { host, port, user, password, database } = testDatabase;
  const connection = await mysql.createConnection({ host, port, user, password });
  try {
    const [tables] = await connection.query(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'outbox_messages'",
      [database],
    );
    if ((tables as unknown[]).length > 0) await connection.query(`DELETE FROM \`${database}\`.outbox_messages`);
  } finally {
    await connection.end();
  }
}

/**
 * Empties every table of the application (not the migrations table, nor feed_sequence: its batch
 * number only grows, and a running server's live feed knows where it is).
 */
export async function truncateAll(db: DataSource): Promise<void> {
  await db.transaction(async (em) => {
    await em.query("SET FOREIGN_KEY_CHECKS = 0");
    for (const table of TABLES) await em.query(`TRUNCATE TABLE ${table}`);
    await em.query("SET FOREIGN_KEY_CHECKS = 1");
  });
}
