import type { AgendaBackend } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import { RedisBackend } from "@agendajs/redis-backend";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import type { Logger } from "pino";
import type { JobsConfig } from "../config.js";

/** How long the start waits for the job store before giving up with a clear error. */
const CONNECT_TIMEOUT_MS = 5000;

/** Agenda's storage, chosen by the scheme of JOBS_URL and namespaced by JOBS_NAMESPACE. */
export interface JobStore {
  backend: AgendaBackend;
  /** Closes the connection this module opened (Agenda leaves connections it was given alone). */
  close(): Promise<void>;
}

export class JobStoreUnavailableError extends Error {
  override name = "JobStoreUnavailableError";
}

/** The URL without its password, fit for a log line. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = "***";
  return url.toString();
}

/**
 * Connects to the job store of `config.url`: Redis (keys and notification channel prefixed by the
 * namespace) or MongoDB (a collection per namespace). Fails within seconds, never hangs, when the
 * store cannot be reached.
 */
export async function connectJobStore(config: JobsConfig, logger: Logger): Promise<JobStore> {
  const scheme = new URL(config.url).protocol;
  try {
    return scheme.startsWith("mongodb") ? await connectMongo(config) : await connectRedis(config, logger);
  } catch (error) {
    throw new JobStoreUnavailableError(
      `cannot reach the job store at ${redactUrl(config.url)} (JOBS_URL): ${(error as Error).message}`,
    );
  }
}

async function connectRedis(config: JobsConfig, logger: Logger): Promise<JobStore> {
  const redis = new Redis(config.url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // While running, commands fail fast during an outage; Agenda retries on its next poll.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on("error", (err) => logger.warn({ err }, "job store connection error"));
  try {
    await withTimeout(redis.connect(), "Redis did not answer");
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const prefix = `${config.namespace}:agenda:`;
  return {
    backend: new RedisBackend({ redis, keyPrefix: prefix, channelName: `${prefix}jobs` }),
    close: async () => {
      await redis.quit();
    },
  };
}

async function connectMongo(config: JobsConfig): Promise<JobStore> {
  const client = new MongoClient(config.url, {
    serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS,
    connectTimeoutMS: CONNECT_TIMEOUT_MS,
  });
  try {
    await withTimeout(client.connect(), "MongoDB did not answer");
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return {
    backend: new MongoBackend({ mongo: client.db(), collection: `${config.namespace}_agenda_jobs` }),
    close: () => client.close(),
  };
}

function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
