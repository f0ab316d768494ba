/** How one configuration value is read and checked; config.ts says which values there are. */
import ms from "ms";

/** A bad configuration value; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Record<string, string | undefined>;

/** The URL's scheme with its colon (`redis:`), or undefined when `raw` is not a URL. */
export function schemeOf(raw: string): string | undefined {
  try {
    return new URL(raw).protocol;
  } catch {
    return undefined;
  }
}

/** Comma-separated durations, e.g. `30s,2m,10m`. */
export function readSchedule(env: Env, name: string, fallback: string): number[] {
  const raw = env[name]?.trim() || fallback;
  const delays = raw.split(",").map((part) => parseDuration(part.trim()));
  if (delays.some((delay) => delay === undefined)) {
    throw new ConfigError(`${name} must be durations separated by commas, such as 30s,2m,10m (got "${raw}")`);
  }
  return delays as number[];
}

/** A name that can prefix Redis keys and channels and MongoDB collections. */
export function readNamespace(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new ConfigError(`${name} must be 1 to 64 letters, digits, _ or - (got "${raw}")`);
  }
  return raw;
}

export function readPort(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError(`${name} must be a port number between 0 and 65535 (got "${raw}")`);
  }
  return port;
}

/** A whole number from 1 to 1000. */
export function readCount(env: Env, name: string, fallback: number): number {
  return readInteger(env, name, fallback, 1000);
}

/** A whole number from 1 to `max`. */
export function readInteger(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const count = Number(raw);
  if (!/^\d+$/.test(raw) || count < 1 || count > max) {
    throw new ConfigError(`${name} must be a whole number from 1 to ${max} (got "${raw}")`);
  }
  return count;
}

/** A URL-like text with its password (and any text that looks like one) masked, for messages. */
export function withoutPassword(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_all, scheme: string, credentials: string) => {
    const user = credentials.includes(":") ? credentials.slice(0, credentials.indexOf(":")) : credentials;
    return `${scheme}${user}:***@`;
  });
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
  // Bare numbers have no unit; ms throws on empty text.
  const value = text === "" || /^\d+$/.test(text) ? undefined : ms(text as ms.StringValue);
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw !== "true" && raw !== "false") throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
  return raw === "true";
}

export function isRedisUrl(raw: string): boolean {
  const scheme = schemeOf(raw);
  return scheme === "redis:" || scheme === "rediss:";
}

/** Origins such as `https://app.example.com`, separated by commas. */
export function readOrigins(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const origins = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  for (const origin of origins) {
    const scheme = schemeOf(origin);
    if ((scheme !== "http:" && scheme !== "https:") || new URL(origin).origin !== origin.replace(/\/+$/, "")) {
      throw new ConfigError(`${name} must be origins such as https://app.example.com, separated by commas (got "${origin}")`);
    }
  }
  return origins.map((origin) => origin.replace(/\/+$/, ""));
}
