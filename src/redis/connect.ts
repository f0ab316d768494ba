import { Redis } from "ioredis";
import type { Logger } from "pino";
import { guarded } from "../logging/guarded.js";

/** How long the start waits for a service before giving up with a clear error. */
export const CONNECT_TIMEOUT_MS = 5000;

/** A service the server needs at start (job store, pub/sub) that does not answer. */
export class UnreachableServiceError extends Error {
  override name = "UnreachableServiceError";

  constructor(what: string, url: string, variable: string, cause: unknown) {
    super(`cannot reach the ${what} at ${redactUrl(url)} (${variable}): ${(cause as Error).message}`);
  }
}

/** The URL without its password, fit for a log line. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = "***";
  return url.toString();
}

export function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A connected Redis client: fails within seconds, never hangs, when Redis cannot be reached. Once
 * running it reconnects on its own, and commands fail fast during an outage instead of piling up.
 */
export async function connectRedis(url: string, purpose: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on(
    "error",
    guarded(logger, `the ${purpose} connection's error`, (err: Error) => logger.warn({ err }, `${purpose} connection error`)),
  );
  try {
    await withTimeout(redis.connect(), "Redis did not answer");
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return redis;
}
