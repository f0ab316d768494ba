import { createHash } from "node:crypto";
import { DataSource, type DataSourceOptions as TypeOrmOptions, type Logger as TypeOrmLogger } from "typeorm";
import mysql from "mysql2/promise";
import { InitialSchema1764000000000 } from "./migrations/1764000000000-InitialSchema.js";
import { boundConnectionWaits, PREPARED_STATEMENTS } from "./pool.js";
import { DealFigures1764100000000 } from "./migrations/1764100000000-DealFigures.js";
import { PartnerCounters1764200000000 } from "./migrations/1764200000000-PartnerCounters.js";
import { Outbox1764300000000 } from "./migrations/1764300000000-Outbox.js";
import { ChangeFeed1764400000000 } from "./migrations/1764400000000-ChangeFeed.js";
import { ApiKeyLifecycle1764500000000 } from "./migrations/1764500000000-ApiKeyLifecycle.js";
import { OutboxClaims1764600000000 } from "./migrations/1764600000000-OutboxClaims.js";
import { ReasonCodes1764700000000 } from "./migrations/1764700000000-ReasonCodes.js";
import { ProfileCapacity1764800000000 } from "./migrations/1764800000000-ProfileCapacity.js";
import { PossibleDuplicates1764900000000 } from "./migrations/1764900000000-PossibleDuplicates.js";

export const migrations = [
  InitialSchema1764000000000,
  DealFigures1764100000000,
  PartnerCounters1764200000000,
  Outbox1764300000000,
  ChangeFeed1764400000000,
  ApiKeyLifecycle1764500000000,
  OutboxClaims1764600000000,
  ReasonCodes1764700000000,
  ProfileCapacity1764800000000,
  PossibleDuplicates1764900000000,
];

/** Where the database is (DATABASE_URL, read by src/config/). */
export interface DatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Which server speaks the MySQL protocol: TypeORM reads their catalogs differently (e.g. column defaults). */
export type ServerFlavour = "mysql" | "mariadb";

export interface DataSourceOptions {
  /** Receives every statement; tests count them. */
  logger?: TypeOrmLogger;
  /** Connections at most; 20 unless said. */
  poolSize?: number;
  /** Bounds the wait for a free connection (see pool.ts); unbounded unless said. */
  acquireTimeoutMs?: number;
  /** Defaults to "mysql"; openDatabase asks the server. */
  flavour?: ServerFlavour;
  /** How long openDatabase waits for another instance's migrations; MIGRATION_LOCK_TIMEOUT_MS unless said. */
  migrationLockTimeoutMs?: number;
}

/** The entity classes a data source maps: the features' (src/app/entities.ts lists them). */
export type Entities = NonNullable<TypeOrmOptions["entities"]>;

/** The one place that says how the server talks to MySQL: UTC instants, decimals as strings, migrations. */
export function createDataSource(db: DatabaseConfig, entities: Entities, options: DataSourceOptions = {}): DataSource {
  return new DataSource({
    type: options.flavour ?? "mysql",
    host: db.host,
    port: db.port,
    username: db.user,
    password: db.password,
    database: db.database,
    charset: "utf8mb4_unicode_ci",
    timezone: "Z",
    entities,
    migrations,
    migrationsTableName: "schema_migrations",
    synchronize: false,
    poolSize: options.poolSize ?? 20,
    // mysql2 captures a stack trace at every call, for its errors' stacks: a few percent of a busy
    // instance's CPU. TypeORM's QueryFailedError carries its own. And each connection's cache of
    // prepared statements, which the server never uses (it sends plain queries), would preallocate
    // 16,000 slots: half a megabyte per connection.
    extra: { trace: false, maxPreparedStatements: PREPARED_STATEMENTS },
    logger: options.logger,
    logging: options.logger ? "all" : false,
  });
}

/** Creates the database when it is missing, so a fresh machine needs no manual step; says which server it is. */
export async function ensureDatabase(db: DatabaseConfig): Promise<ServerFlavour> {
  const connection = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
  });
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT VERSION() AS version, @@auto_increment_increment AS step");
    if (Number(rows[0].step) !== 1) {
      // Multi-row inserts number their rows from the first key they were given (entity-rows.ts).
      throw new Error(
        `the database server hands out AUTO_INCREMENT keys in steps of ${rows[0].step}; this server needs auto_increment_increment = 1`,
      );
    }
    return /mariadb/i.test(String(rows[0].version)) ? "mariadb" : "mysql";
  } finally {
    await connection.end();
  }
}

/** How long openDatabase waits for another instance's migrations, unless told (see underMigrationLock). */
export const MIGRATION_LOCK_TIMEOUT_MS = 120_000;

/** Another instance held the migration lock for longer than the wait allowed. */
export class MigrationLockTimeout extends Error {}

/** `<database>:migrations`, or a digest of it when longer than the 64 characters a lock name may have. */
export function migrationLockName(database: string): string {
  const name = `${database}:migrations`;
  return name.length <= 64 ? name : `migrations:${createHash("sha256").update(database).digest("hex").slice(0, 40)}`;
}

/**
 * Runs `work` holding the database's migration lock (GET_LOCK), taken on a connection of its own,
 * outside the pool, so that migrations keep every pooled connection. Instances starting together
 * migrate one after the other: the next one finds nothing pending. The lock is released afterwards,
 * or by the server when the connection dies with its process.
 */
async function underMigrationLock<T>(db: DatabaseConfig, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const name = migrationLockName(db.database);
  const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
  const connection = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS locked", [name, seconds]);
    if (Number(rows[0].locked) !== 1) {
      throw new MigrationLockTimeout(
        `another instance has held the migration lock of database ${db.database} (GET_LOCK '${name}') for over ${seconds} s; ` +
          "it may still be applying migrations: start again once it is done",
      );
    }
    try {
      return await work();
    } finally {
      await connection.query("SELECT RELEASE_LOCK(?)", [name]).catch(() => undefined);
    }
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** Creates the database if needed, connects and applies pending migrations under the migration lock. */
export async function openDatabase(db: DatabaseConfig, entities: Entities, options: DataSourceOptions = {}): Promise<DataSource> {
  const flavour = await ensureDatabase(db);
  const dataSource = createDataSource(db, entities, { flavour, ...options });
  await dataSource.initialize();
  try {
    if (options.acquireTimeoutMs !== undefined) boundConnectionWaits(dataSource, options.acquireTimeoutMs);
    const lockTimeoutMs = options.migrationLockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS;
    await underMigrationLock(db, lockTimeoutMs, () => dataSource.runMigrations({ transaction: "each" }));
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}
