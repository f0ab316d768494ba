// What the admin CLI and the demo share: the configuration, the database and the services, and how
// they end (exit 0; 2 for bad input, with one line on stderr; 1 when something else failed).
import "reflect-metadata";
import { pino } from "pino";
import type { DataSource } from "typeorm";
import { ApiKeyService } from "../auth/api-key.service.js";
import { ConfigError, loadConfig, type Config } from "../config/config.js";
import { MigrationLockTimeout, openDatabase } from "../db/data-source.js";
import { AppError } from "../graphql/errors.js";
import { LiveBus } from "../live/pubsub.js";
import type { Logger } from "../logging/logger.js";
import { PartnerService } from "../partners/partner.service.js";
import { UnreachableServiceError } from "../redis/connect.js";
import { ENTITIES } from "../app/entities.js";

/** The command line is wrong, or names something that does not exist: exit code 2. */
export class UsageError extends Error {}

export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export interface AdminTools {
  config: Config;
  db: DataSource;
  logger: Logger;
  apiKeys: ApiKeyService;
  partners: PartnerService;
  close(): Promise<void>;
}

/**
 * The database of DATABASE_URL (created and migrated like the server does, under the same lock) and
 * the services over it. With `bus`, revocations reach running servers at once through PUBSUB_URL
 * (without it they notice within seconds, when their cache of keys expires).
 */
export async function openTools(config: Config, logger: Logger, options: { bus?: boolean } = {}): Promise<AdminTools> {
  // A few connections, which nothing else competes for: no bound on the wait for one.
  const db = await openDatabase(config.database, ENTITIES, { poolSize: 4 });
  let bus: LiveBus | undefined;
  try {
    if (options.bus) bus = await LiveBus.connect(config.pubsub, logger);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const apiKeys = new ApiKeyService(db, (keyId) => bus?.publishKeyRevoked(keyId), logger);
  return {
    config,
    db,
    logger,
    apiKeys,
    partners: new PartnerService(db, apiKeys),
    async close() {
      await bus?.close();
      await db.destroy();
    },
  };
}

/** Logs on stderr, warnings and worse unless LOG_LEVEL says otherwise: stdout is the tool's answer. */
export function toolLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ level: env.LOG_LEVEL?.trim() || "warn" }, pino.destination(2));
}

/** One line for an error: what the operator reads on stderr. */
function describe(error: unknown, config: Config | undefined): { line: string; code: number } {
  if (error instanceof UsageError) return { line: error.message, code: EXIT_BAD_INPUT };
  // The services' refusals (bad input, not found, …), worded as the API words them.
  if (error instanceof AppError) return { line: error.message, code: EXIT_BAD_INPUT };
  if (error instanceof ConfigError) return { line: `configuration error: ${error.message}`, code: EXIT_FAILED };
  if (error instanceof MigrationLockTimeout || error instanceof UnreachableServiceError) return { line: error.message, code: EXIT_FAILED };
  const code = (error as { code?: string }).code;
  if (config && (code === "ECONNREFUSED" || code === "ER_ACCESS_DENIED_ERROR" || code === "ENOTFOUND")) {
    const { host, port, database } = config.database;
    return { line: `cannot reach MySQL at ${host}:${port} (database ${database}): ${code}; check DATABASE_URL`, code: EXIT_FAILED };
  }
  return { line: error instanceof Error ? error.message : String(error), code: EXIT_FAILED };
}

/**
 * Runs a tool to its end and exits: 0 when `work` returns, else one line `<name>: …` on stderr and
 * code 2 (bad input) or 1. `work` gets the configuration (read once, as the server reads it).
 */
export async function runTool(name: string, work: (config: () => Config) => Promise<void>): Promise<void> {
  let config: Config | undefined;
  let code = 0;
  try {
    await work(() => (config ??= loadConfig()));
  } catch (error) {
    const described = describe(error, config);
    process.stderr.write(`${name}: ${described.line.replace(/\s*\n\s*/g, " ")}\n`);
    code = described.code;
  }
  // Nothing should be left open; should a driver linger, it does not hold the operator's shell.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}
