/** The addresses the configuration names (database, job store, Redis, SMTP, mail sender, public URL), read and checked. */
import { ConfigError, isRedisUrl, schemeOf, withoutPassword, type Env } from "./values.js";
import type { DatabaseConfig } from "../db/data-source.js";

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/partner_referrals";
const DEFAULT_JOBS_URL = "redis://127.0.0.1:6379";
const JOB_STORE_SCHEMES = ["redis:", "rediss:", "mongodb:", "mongodb+srv:"];

/** `memory`, or a Redis URL; by default the Redis the live feed or the jobs use, else memory. */
export function readRateLimitStore(env: Env): string {
  const raw = env.RATE_LIMIT_STORE?.trim();
  if (!raw) {
    const redis = [env.PUBSUB_URL, env.JOBS_URL || DEFAULT_JOBS_URL].map((url) => url?.trim()).find((url) => url && isRedisUrl(url));
    return redis ?? "memory";
  }
  if (raw !== "memory" && !isRedisUrl(raw)) {
    throw new ConfigError(`RATE_LIMIT_STORE must be memory or a redis:// URL (got "${withoutPassword(raw)}")`);
  }
  return raw;
}

export function readJobsUrl(env: Env): string {
  const raw = env.JOBS_URL?.trim() || DEFAULT_JOBS_URL;
  const scheme = schemeOf(raw);
  if (scheme === undefined) {
    throw new ConfigError(`JOBS_URL must be a redis:// or mongodb:// URL (got "${withoutPassword(raw)}")`);
  }
  if (!JOB_STORE_SCHEMES.includes(scheme)) {
    throw new ConfigError(`JOBS_URL must start with redis:// or mongodb:// (got "${scheme}//")`);
  }
  return raw;
}

export function readPubSubUrl(env: Env): string | undefined {
  const raw = env.PUBSUB_URL?.trim();
  if (!raw) return undefined;
  const scheme = schemeOf(raw);
  if (scheme !== "redis:" && scheme !== "rediss:") {
    throw new ConfigError(`PUBSUB_URL must be a redis:// URL, or unset for in-process delivery (got "${withoutPassword(raw)}")`);
  }
  return raw;
}

export function readSmtpUrl(env: Env): string | undefined {
  const raw = env.SMTP_URL?.trim();
  if (!raw) return undefined;
  const scheme = schemeOf(raw);
  // Never echoed: it may hold a password.
  if (scheme !== "smtp:" && scheme !== "smtps:") {
    throw new ConfigError(
      "SMTP_URL must be a smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587, or unset to write e-mails to MAIL_DIR",
    );
  }
  return raw;
}

const MAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

/** `address` or `Name <address>`. */
export function readMailFrom(env: Env): string {
  const raw = env.MAIL_FROM?.trim() || "Partner referrals <referrals@localhost>";
  const named = /^(.*\S)\s*<([^<>]+)>$/.exec(raw);
  if (!MAIL_ADDRESS.test(named ? named[2] : raw)) {
    throw new ConfigError(`MAIL_FROM must be an address or Name <address> (got "${raw}")`);
  }
  return raw;
}

export function readPublicUrl(env: Env, port: number): string {
  const raw = env.PUBLIC_URL?.trim() || `http://localhost:${port}`;
  const scheme = schemeOf(raw);
  if (scheme !== "http:" && scheme !== "https:") {
    throw new ConfigError(`PUBLIC_URL must be an http:// or https:// URL (got "${raw}")`);
  }
  return raw.replace(/\/+$/, "");
}

export function parseDatabaseUrl(raw: string): DatabaseConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`DATABASE_URL must be a URL like ${DEFAULT_DATABASE_URL} (got "${withoutPassword(raw)}")`);
  }
  if (url.protocol !== "mysql:") {
    throw new ConfigError(`DATABASE_URL must start with mysql:// (got "${url.protocol}//")`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new ConfigError(`DATABASE_URL must name a database of letters, digits and underscores, e.g. ${DEFAULT_DATABASE_URL}`);
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
