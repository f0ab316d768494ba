import { pino, type DestinationStream, type Logger } from "pino";
import { serializeError } from "./serializers.js";

export type { Logger };

/** Serializers every logger of the server uses (pino-http's children too): see log-serializers.ts. */
export const LOG_SERIALIZERS = { err: serializeError };

/**
 * JSON logs on stdout (or `destination`, for tests); API keys, passwords, cookies and customer data
 * never appear in them: errors go through an allow-list (log-serializers.ts), credentials are redacted.
 */
export function createLogger(config: { logLevel: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      serializers: LOG_SERIALIZERS,
      redact: [
        "req.headers.authorization",
        "req.headers.cookie",
        "authorization",
        "*.authorization",
        "password",
        "*.password",
        "secret",
        "*.secret",
        "apiKey",
        "*.apiKey",
      ],
    },
    destination,
  );
}
