import { pino, type Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** JSON logs on stdout; API keys never appear in them. */
export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    redact: ["req.headers.authorization", "authorization", "*.authorization"],
  });
}
