import { expect } from "chai";
import mysql from "mysql2/promise";
import type { DataSource } from "typeorm";
import { parseDatabaseUrl } from "../../src/config/addresses.js";
import { MigrationLockTimeout, migrationLockName, migrations, openDatabase } from "../../src/db/data-source.js";
import { startServer } from "../../src/app/server.js";
import { databaseUrlOf, dropTestDatabase, testDatabase } from "../support/database.js";
import { testConfig } from "../support/harness.js";
import { purgeNamespace } from "../support/redis.js";
import { ENTITIES } from "../../src/app/entities.js";

/** A database of its own, absent before each test: what two instances find on a fresh deployment. */
const database = `${testDatabase.database}_migrate`;
const config = { ...testDatabase, database };
const databaseUrl = databaseUrlOf(database);

async function appliedMigrations(): Promise<{ name: string; times: number }[]> {
  const connection = await mysql.createConnection({ ...parseDatabaseUrl(databaseUrl) });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      "SELECT name, COUNT(*) AS times FROM schema_migrations GROUP BY name ORDER BY MIN(timestamp)",
    );
    return rows.map((row) => ({ name: String(row.name), times: Number(row.times) }));
  } finally {
    await connection.end();
  }
}

const everyMigrationOnce = () => migrations.map((Migration) => ({ name: new Migration().name!, times: 1 }));

describe("process > migrations under a database lock", function () {
  this.timeout(60_000);
  const opened: DataSource[] = [];

  beforeEach(() => dropTestDatabase(database));
  afterEach(async () => {
    for (const db of opened.splice(0)) if (db.isInitialized) await db.destroy();
    await dropTestDatabase(database);
  });

  it("applies each migration exactly once when two instances open a fresh database together", async () => {
    opened.push(...(await Promise.all([openDatabase(config, ENTITIES), openDatabase(config, ENTITIES), openDatabase(config, ENTITIES)])));
    expect(await appliedMigrations()).to.deep.equal(everyMigrationOnce());
  });

  it("starts two servers together on a fresh database, each migration applied once", async () => {
    const overrides = { DATABASE_URL: databaseUrl, JOBS_NAMESPACE: database, ADMIN_API_KEY: "" };
    const started = await Promise.allSettled([startServer(testConfig(overrides)), startServer(testConfig(overrides))]);
    try {
      expect(started.map((outcome) => outcome.status)).to.deep.equal(["fulfilled", "fulfilled"]);
      expect(await appliedMigrations()).to.deep.equal(everyMigrationOnce());
    } finally {
      for (const outcome of started) if (outcome.status === "fulfilled") await outcome.value.stop();
      await purgeNamespace(database);
    }
  });

  it("waits for the instance that holds the lock, then finds nothing left to apply", async () => {
    opened.push(await openDatabase(config, ENTITIES));
    const holder = await mysql.createConnection({ ...parseDatabaseUrl(databaseUrl) });
    try {
      await holder.query("SELECT GET_LOCK(?, 0)", [migrationLockName(database)]);
      let done = false;
      const opening = openDatabase(config, ENTITIES, { migrationLockTimeoutMs: 10_000 }).then((db) => {
        done = true;
        return db;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(done, "opened while the lock was held").to.equal(false);
      await holder.query("SELECT RELEASE_LOCK(?)", [migrationLockName(database)]);
      opened.push(await opening);
    } finally {
      await holder.end();
    }
    expect(await appliedMigrations()).to.deep.equal(everyMigrationOnce());
  });

  it("gives up after the bounded wait with an error naming the database and the lock", async () => {
    const { host, port, user, password } = testDatabase;
    const holder = await mysql.createConnection({ host, port, user, password });
    try {
      await holder.query("SELECT GET_LOCK(?, 0)", [migrationLockName(database)]);
      const started = Date.now();
      const error = await openDatabase(config, ENTITIES, { migrationLockTimeoutMs: 1_000 }).then(
        (db) => {
          opened.push(db);
          throw new Error("opened the database while another instance held the migration lock");
        },
        (error: unknown) => error,
      );
      expect(Date.now() - started).to.be.within(900, 3_000);
      expect(error).to.be.instanceOf(MigrationLockTimeout);
      expect((error as Error).message).to.equal(
        `another instance has held the migration lock of database ${database} (GET_LOCK '${database}:migrations') for over 1 s; ` +
          "it may still be applying migrations: start again once it is done",
      );
    } finally {
      await holder.end();
    }
  });

  it("names a long database's lock within the 64 characters MySQL allows", () => {
    expect(migrationLockName("a".repeat(64))).to.have.length.at.most(64);
    expect(migrationLockName("a".repeat(64))).to.not.equal(migrationLockName(`${"a".repeat(63)}b`));
    expect(migrationLockName("partner_referrals")).to.equal("partner_referrals:migrations");
  });
});
