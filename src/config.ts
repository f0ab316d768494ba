import ms from "ms";

export type Environment = "development" | "test" | "production";

export interface DatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface Config {
  env: Environment;
  port: number;
  database: DatabaseConfig;
  /** When set, a key with role ADMIN that works at once; only its hash is stored. */
  adminApiKey: string | undefined;
  /** How long a partner has to answer a NEW referral (from arrival). */
  newReferralResponseWindowMs: number;
  /** How long a partner has to accept or decline an EVALUATING referral (from interest). */
  evaluationWindowMs: number;
  logLevel: string;
}

/** A bad configuration value; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const ENVIRONMENTS: readonly Environment[] = ["development", "test", "production"];
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const MIN_ADMIN_KEY_LENGTH = 32;

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/partner_referrals";

type Env = Record<string, string | undefined>;

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
    throw new ConfigError(
      `ADMIN_API_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters (try: openssl rand -base64 32)`,
    );
  }
  return {
    env: nodeEnv,
    port: readPort(env, "PORT", 4000),
    database: parseDatabaseUrl(env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL),
    adminApiKey,
    newReferralResponseWindowMs: readDuration(env, "NEW_REFERRAL_RESPONSE_WINDOW", "72h"),
    evaluationWindowMs: readDuration(env, "EVALUATION_WINDOW", "7d"),
    logLevel,
  };
}

function readPort(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError(`${name} must be a port number between 0 and 65535 (got "${raw}")`);
  }
  return port;
}

/** Human durations such as `2s`, `90 minutes`, `72h`, `7d`; always positive. */
export function readDuration(env: Env, name: string, fallback: string): number {
  const raw = env[name]?.trim() || fallback;
  const parsed = parseDuration(raw);
  if (parsed === undefined) {
    throw new ConfigError(`${name} must be a positive duration such as 2s, 90 minutes, 72h or 7d (got "${raw}")`);
  }
  return parsed;
}

export function parseDuration(text: string): number | undefined {
  const value = /^\d+$/.test(text) ? undefined : ms(text as ms.StringValue);
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function parseDatabaseUrl(raw: string): DatabaseConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`DATABASE_URL must be a URL like ${DEFAULT_DATABASE_URL} (got "${raw}")`);
  }
  if (url.protocol !== "mysql:") {
    throw new ConfigError(`DATABASE_URL must start with mysql:// (got "${url.protocol}//")`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new ConfigError(
      `DATABASE_URL must name a database of letters, digits and underscores, e.g. ${DEFAULT_DATABASE_URL}`,
    );
  }
  const port = url.port ? Number(url.port) : 3306;
  return {
    host: url.hostname || "127.0.0.1",
    port,
    user: decodeURIComponent(url.username) || "root",
    password: decodeURIComponent(url.password),
    database,
  };
}
