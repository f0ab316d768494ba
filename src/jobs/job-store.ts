import { EventEmitter } from "node:events";
import type { AgendaBackend } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import { RedisBackend } from "@agendajs/redis-backend";
import { MongoClient } from "mongodb";
import type { Logger } from "pino";
import type { JobsConfig } from "../config/index.js";
import { guarded } from "../logging/guarded.js";
import { CONNECT_TIMEOUT_MS, connectRedis, UnreachableServiceError, withTimeout } from "../redis/index.js";

/** Agenda's storage, chosen by the scheme of JOBS_URL and namespaced by JOBS_NAMESPACE. */
export interface JobStore {
  backend: AgendaBackend;
  /**
   * True for the first caller, on any instance, to claim `name` until `expiresAt`; false for every
   * other. Atomic in the store itself (Agenda's own `unique` scans every job of a name on Redis).
   */
  claimOnce(name: string, expiresAt: Date): Promise<boolean>;
  /** Asks the store to answer (Redis PING, MongoDB `ping`): for the readiness check. */
  ping(): Promise<void>;
  /** Closes the connection this module opened (Agenda leaves connections it was given alone). */
  close(): Promise<void>;
}

/**
 * Connects to the job store of `config.url`: Redis (keys and notification channel prefixed by the
 * namespace) or MongoDB (a collection per namespace). Fails within seconds, never hangs, when the
 * store cannot be reached.
 */
export async function connectJobStore(config: JobsConfig, logger: Logger): Promise<JobStore> {
  const scheme = new URL(config.url).protocol;
  try {
    return scheme.startsWith("mongodb") ? await connectMongo(config) : await connectRedisStore(config, logger);
  } catch (error) {
    throw new UnreachableServiceError("job store", config.url, "JOBS_URL", error);
  }
}

async function connectRedisStore(config: JobsConfig, logger: Logger): Promise<JobStore> {
  const redis = await connectRedis(config.url, "job store", logger);
  const prefix = `${config.namespace}:agenda:`;
  const backend = new RedisBackend({ redis, keyPrefix: prefix, channelName: `${prefix}jobs` });
  // The channel re-emits its subscriber connection's errors (and failed reconnections) as its own
  // `error`, which Agenda does not listen to: unheard, the first Redis outage would end the process.
  const channel = backend.notificationChannel;
  if (channel instanceof EventEmitter) {
    channel.on(
      "error",
      guarded(logger, "the job channel's error", (err: Error) => logger.warn({ err }, "job store channel error")),
    );
  }
  return {
    backend,
    claimOnce: async (name, expiresAt) =>
      (await redis.set(`${prefix}claims:${name}`, "1", "PXAT", Math.max(expiresAt.getTime(), Date.now() + 1), "NX")) === "OK",
    ping: async () => {
      await redis.ping();
    },
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
  const claims = client.db().collection<{ _id: string; expiresAt: Date }>(`${config.namespace}_agenda_claims`);
  await claims.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
  return {
    backend: new MongoBackend({ mongo: client.db(), collection: `${config.namespace}_agenda_jobs` }),
    claimOnce: async (name, expiresAt) => {
      try {
        await claims.insertOne({ _id: name, expiresAt });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 11000) return false;
        throw error;
      }
    },
    ping: async () => {
      await client.db().command({ ping: 1 });
    },
    close: () => client.close(),
  };
}
