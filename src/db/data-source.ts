import { DataSource, type Logger as TypeOrmLogger } from "typeorm";
import mysql from "mysql2/promise";
import type { DatabaseConfig } from "../config.js";
import { ApiKey } from "../auth/api-key.entity.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { Referral, ReferralEvent } from "../referrals/referral.entity.js";
import { IdempotencyRecord } from "../rfis/idempotency-record.entity.js";
import { Rfi } from "../rfis/rfi.entity.js";
import { InitialSchema1764000000000 } from "./migrations/1764000000000-InitialSchema.js";

export const entities = [ApiKey, Partner, MarketingProfile, Rfi, IdempotencyRecord, Referral, ReferralEvent];
export const migrations = [InitialSchema1764000000000];

export interface DataSourceOptions {
  /** Receives every statement; tests count them. */
  logger?: TypeOrmLogger;
  poolSize?: number;
}

/** The one place that says how the server talks to MySQL: UTC instants, decimals as strings, migrations. */
export function createDataSource(db: DatabaseConfig, options: DataSourceOptions = {}): DataSource {
  return new DataSource({
    type: "mysql",
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
    logger: options.logger,
    logging: options.logger ? "all" : false,
  });
}

/** Creates the database when it is missing, so a fresh machine needs no manual step. */
export async function ensureDatabase(db: DatabaseConfig): Promise<void> {
  const connection = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
  });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await connection.end();
  }
}

/** Creates the database if needed, connects and applies pending migrations. */
export async function openDatabase(db: DatabaseConfig, options: DataSourceOptions = {}): Promise<DataSource> {
  await ensureDatabase(db);
  const dataSource = createDataSource(db, options);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: "each" });
  return dataSource;
}
