// The process: configuration, then the server, then a clean stop on SIGTERM or SIGINT.
import "reflect-metadata";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { UnreachableServiceError } from "./redis/connect.js";
import { MigrationLockTimeout } from "./db/data-source.js";
import { createLogger } from "./logging/logger.js";
import { startServer } from "./app/server.js";
import { stopOnSignals } from "./app/shutdown.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`configuration error: ${error.message}`);
  process.exit(1);
}

const logger = createLogger(config);
try {
  const server = await startServer(config, { logger });
  stopOnSignals(server, logger, config.operations.shutdownTimeoutMs);
} catch (error) {
  const { host, port, database } = config.database;
  const code = (error as { code?: string }).code;
  if (error instanceof UnreachableServiceError || error instanceof MigrationLockTimeout) {
    logger.fatal(error.message);
  } else if (code === "ECONNREFUSED" || code === "ER_ACCESS_DENIED_ERROR" || code === "ENOTFOUND") {
    logger.fatal(`cannot reach MySQL at ${host}:${port} (database ${database}): ${code}; check DATABASE_URL`);
  } else {
    logger.fatal({ err: error }, "could not start");
  }
  process.exit(1);
}
