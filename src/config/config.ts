import { readTrustedProxies, type TrustedProxies } from "./proxies.js";
import { DELIVERY_DEADLINE_MS } from "../outbox/index.js";
import {
  DEFAULT_DATABASE_URL,
  parseDatabaseUrl,
  readJobsUrl,
  readMailFrom,
  readPublicUrl,
  readPubSubUrl,
  readRateLimitStore,
  readSmtpUrl,
} from "./addresses.js";
import type { DatabaseConfig } from "../db/data-source.js";
import type { BurstYieldOptions } from "../db/burst-yield.js";
import {
  ConfigError,
  readBoolean,
  readCount,
  readDuration,
  readInteger,
  readNamespace,
  readOrigins,
  readPort,
  readSchedule,
  type Env,
} from "./values.js";

export { ConfigError };

export type Environment = "development" | "test" | "production";

/** How the server shares its MySQL connections. */
export interface PoolConfig {
  /** Connections at most (DATABASE_POOL_SIZE). */
  size: number;
  /** How long an operation waits for a free connection before it fails with SERVICE_UNAVAILABLE. */
  acquireTimeoutMs: number;
}

/** Statistics are heavy: a few at a time per instance, so that they never starve the pool. */
export interface StatsConfig {
  /** Statistics statements running at once on this instance (STATS_CONCURRENCY). */
  concurrency: number;
  /** How long a statistics statement waits for its turn before it fails with SERVICE_UNAVAILABLE. */
  waitTimeoutMs: number;
}

export interface JobsConfig {
  /** Where Agenda keeps its jobs: `redis://…` or `mongodb://…`. */
  url: string;
  /** Separates this deployment's jobs from others' in a shared Redis or MongoDB. */
  namespace: string;
  /** How often Agenda looks for jobs that are due soon. */
  processEveryMs: number;
  /** How often the sweeper looks for overdue referrals that no job expired. */
  sweepEveryMs: number;
}

export interface PubSubConfig {
  /** `redis://…` to share live events between instances; undefined for in-process delivery. */
  url: string | undefined;
  /** Separates this deployment's channels from others' on a shared Redis. */
  namespace: string;
}

/** E-mails: how they leave (SMTP, or files for a newcomer), and when they are retried. */
export interface NotificationsConfig {
  /** `smtp://user:pass@host:port` or `smtps://…`; undefined writes each e-mail as a file to `mailDir`. */
  smtpUrl: string | undefined;
  /** `address` or `Name <address>`. */
  mailFrom: string;
  mailDir: string;
  /** Where the links in e-mails point: the dashboard's origin, no trailing slash. */
  publicUrl: string;
  /** Delays between attempts (NOTIFY_RETRY_SCHEDULE); once used up, an e-mail is FAILED. */
  retryDelaysMs: number[];
  /** How long before a NEW referral's deadline its contact is reminded (REMINDER_BEFORE). */
  reminderBeforeMs: number;
}

/** Webhooks: how long an endpoint has to answer, when failures are retried, when an endpoint is given up on. */
export interface WebhooksConfig {
  /** How long an endpoint has to answer (WEBHOOK_TIMEOUT): at most the outbox's deadline for a delivery. */
  timeoutMs: number;
  /** Delays between attempts (WEBHOOK_RETRY_SCHEDULE); once used up, a delivery is FAILED. */
  retryDelaysMs: number[];
  /** An endpoint failing for this long is disabled (WEBHOOK_DISABLE_AFTER). */
  disableAfterMs: number;
  /** http:// and private addresses allowed (WEBHOOK_ALLOW_PRIVATE_URLS): an explicit opt-in, false in every mode by default. */
  allowPrivateUrls: boolean;
}

/** Requests, sockets and failed keys allowed per key or address, shared by every instance through the store. */
export interface RateLimitConfig {
  /** Requests per minute per API key (RATE_LIMIT). */
  perKeyPerMinute: number;
  /** Requests per minute per IP address without a valid key (RATE_LIMIT_ANONYMOUS). */
  anonymousPerMinute: number;
  /** Failed authentications per IP address per minute (RATE_LIMIT_FAILED_AUTH). */
  failedAuthPerMinute: number;
  /** `memory` (this instance alone) or a `redis://` URL (RATE_LIMIT_STORE). */
  store: string;
  /** Prefix of the limits' Redis keys (RATE_LIMIT_NAMESPACE). */
  namespace: string;
  /** Open WebSockets per API key (MAX_SOCKETS_PER_KEY). */
  maxSocketsPerKey: number;
}

/** How long finished rows are kept before the retention job deletes them. */
export interface RetentionConfig {
  /** Delivered or failed e-mails and webhook deliveries (OUTBOX_RETENTION). */
  outboxMs: number;
  /** submitRfi idempotency keys: a retry within this period returns the first result (IDEMPOTENCY_RETENTION). */
  idempotencyMs: number;
}

/** How the process is run and watched. */
export interface OperationsConfig {
  /** When set, GET /metrics needs `Authorization: Bearer <token>` (METRICS_TOKEN). */
  metricsToken: string | undefined;
  /** How long a stop may take before the process exits anyway, non-zero (SHUTDOWN_TIMEOUT). */
  shutdownTimeoutMs: number;
  /** Browser origins allowed to call the API (CORS_ORIGINS); none by default. */
  corsOrigins: string[];
  /** The proxies whose X-Forwarded-For names the client (TRUST_PROXY); none by default. */
  trustedProxies: TrustedProxies;
  /**
   * From how many GraphQL requests (in flight, or just started) the sequencer, the outbox relay and fit scoring give way to them
   * (BACKGROUND_YIELD_AT, 0: never), for at most BACKGROUND_YIELD_MAX at a time.
   */
  burstYield: BurstYieldOptions | undefined;
}

export interface Config {
  env: Environment;
  port: number;
  database: DatabaseConfig;
  pool: PoolConfig;
  stats: StatsConfig;
  /** When set, a key with role ADMIN that works at once; only its hash is stored. */
  adminApiKey: string | undefined;
  /** How long a partner has to answer a NEW referral (from arrival). */
  newReferralResponseWindowMs: number;
  /** How long a partner has to accept or decline an EVALUATING referral (from interest). */
  evaluationWindowMs: number;
  /** RFIs of the same customer submitted this close together are possible duplicates (DUPLICATE_WINDOW). */
  duplicateWindowMs: number;
  jobs: JobsConfig;
  pubsub: PubSubConfig;
  notifications: NotificationsConfig;
  webhooks: WebhooksConfig;
  rateLimits: RateLimitConfig;
  retention: RetentionConfig;
  operations: OperationsConfig;
  logLevel: string;
}

const ENVIRONMENTS: readonly Environment[] = ["development", "test", "production"];
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const MIN_ADMIN_KEY_LENGTH = 32;

/**
 * WEBHOOK_TIMEOUT, within the outbox's deadline for a delivery: a longer one would never be reached,
 * the delivery being aborted at its deadline first.
 */
function readWebhookTimeout(env: Env): number {
  const timeout = readDuration(env, "WEBHOOK_TIMEOUT", "10s");
  if (timeout > DELIVERY_DEADLINE_MS) {
    throw new ConfigError(
      `WEBHOOK_TIMEOUT must be at most ${DELIVERY_DEADLINE_MS / 1000}s, the deadline of a delivery (half the outbox's lease) (got "${env.WEBHOOK_TIMEOUT?.trim()}")`,
    );
  }
  return timeout;
}

/** How the server tells people: e-mails and webhooks. */
function readDeliveries(env: Env, port: number): Pick<Config, "notifications" | "webhooks"> {
  return {
    notifications: {
      smtpUrl: readSmtpUrl(env),
      mailFrom: readMailFrom(env),
      mailDir: env.MAIL_DIR?.trim() || "var/mail",
      publicUrl: readPublicUrl(env, port),
      retryDelaysMs: readSchedule(env, "NOTIFY_RETRY_SCHEDULE", "30s,2m,10m,30m,1h,2h,4h,8h,12h"),
      reminderBeforeMs: readDuration(env, "REMINDER_BEFORE", "24h"),
    },
    webhooks: {
      timeoutMs: readWebhookTimeout(env),
      retryDelaysMs: readSchedule(env, "WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,10h"),
      disableAfterMs: readDuration(env, "WEBHOOK_DISABLE_AFTER", "5d"),
      allowPrivateUrls: readBoolean(env, "WEBHOOK_ALLOW_PRIVATE_URLS", false),
    },
  };
}

function readBurstYield(env: Env): BurstYieldOptions | undefined {
  if (env.BACKGROUND_YIELD_AT?.trim() === "0") return undefined;
  return { from: readInteger(env, "BACKGROUND_YIELD_AT", 16, 100_000), atMostMs: readDuration(env, "BACKGROUND_YIELD_MAX", "2s") };
}

/** What operators tune: limits, retention, metrics, shutdown, CORS and proxies. */
function readOperations(env: Env, namespaceDefault: string): Pick<Config, "rateLimits" | "retention" | "operations"> {
  return {
    rateLimits: {
      perKeyPerMinute: readInteger(env, "RATE_LIMIT", 1200, 1_000_000),
      anonymousPerMinute: readInteger(env, "RATE_LIMIT_ANONYMOUS", 60, 1_000_000),
      failedAuthPerMinute: readInteger(env, "RATE_LIMIT_FAILED_AUTH", 10, 1_000_000),
      store: readRateLimitStore(env),
      namespace: readNamespace(env, "RATE_LIMIT_NAMESPACE", namespaceDefault),
      maxSocketsPerKey: readInteger(env, "MAX_SOCKETS_PER_KEY", 20, 100_000),
    },
    retention: {
      outboxMs: readDuration(env, "OUTBOX_RETENTION", "30d"),
      idempotencyMs: readDuration(env, "IDEMPOTENCY_RETENTION", "30d"),
    },
    operations: {
      metricsToken: env.METRICS_TOKEN?.trim() || undefined,
      shutdownTimeoutMs: readDuration(env, "SHUTDOWN_TIMEOUT", "30s"),
      corsOrigins: readOrigins(env, "CORS_ORIGINS"),
      trustedProxies: readTrustedProxies(env),
      burstYield: readBurstYield(env),
    },
  };
}

/** Reads and validates the whole configuration once; throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = (env.NODE_ENV?.trim() || "development") as Environment;
  if (!ENVIRONMENTS.includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be one of ${ENVIRONMENTS.join(", ")} (got "${env.NODE_ENV}")`);
  }
  const logLevel = env.LOG_LEVEL?.trim() || (nodeEnv === "test" ? "silent" : "info");
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel}")`);
  }
  const adminApiKey = env.ADMIN_API_KEY?.trim() || undefined;
  if (adminApiKey !== undefined && adminApiKey.length < MIN_ADMIN_KEY_LENGTH) {
    throw new ConfigError(`ADMIN_API_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters (try: openssl rand -base64 32)`);
  }
  const database = parseDatabaseUrl(env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL);
  const port = readPort(env, "PORT", 4000);
  return {
    env: nodeEnv,
    port,
    database,
    pool: {
      size: readCount(env, "DATABASE_POOL_SIZE", 20),
      acquireTimeoutMs: readDuration(env, "DATABASE_ACQUIRE_TIMEOUT", "5s"),
    },
    stats: {
      concurrency: readCount(env, "STATS_CONCURRENCY", 2),
      waitTimeoutMs: readDuration(env, "STATS_WAIT_TIMEOUT", "30s"),
    },
    adminApiKey,
    newReferralResponseWindowMs: readDuration(env, "NEW_REFERRAL_RESPONSE_WINDOW", "72h"),
    evaluationWindowMs: readDuration(env, "EVALUATION_WINDOW", "7d"),
    duplicateWindowMs: readDuration(env, "DUPLICATE_WINDOW", "30d"),
    ...readDeliveries(env, port),
    ...readOperations(env, database.database),
    jobs: {
      url: readJobsUrl(env),
      namespace: readNamespace(env, "JOBS_NAMESPACE", database.database),
      processEveryMs: readDuration(env, "JOBS_PROCESS_EVERY", "1s"),
      sweepEveryMs: readDuration(env, "EXPIRY_SWEEP_EVERY", "1 minute"),
    },
    pubsub: {
      url: readPubSubUrl(env),
      namespace: readNamespace(env, "PUBSUB_NAMESPACE", database.database),
    },
    logLevel,
  };
}
