import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RateLimitConfig } from "../config/index.js";
import { ErrorCode } from "../graphql/error-codes.js";
import { AppError } from "../graphql/errors.js";
import type { Metrics } from "../metrics/index.js";
import { connectRedis, UnreachableServiceError } from "../redis/index.js";
import { STATISTICS_COST } from "./cost.js";
import { LocalAllowance } from "./local-allowance.js";

/** What was limited, as the `limit` label of `rate_limited_total` says it. */
export type LimitName = "key" | "anonymous" | "failed_auth" | "sockets";

/** A refused request, subscription or socket: why, and when to try again. */
export interface RateLimitRefusal {
  limit: LimitName;
  message: string;
  /** Whole seconds until the window that refused it ends (at least 1): `Retry-After`. */
  retryAfterSeconds: number;
}

/**
 * The error a refused subscription gets; a refused HTTP request's body has the same message and
 * extensions. `http`: the response's status and headers, when Apollo answers it.
 */
export function rateLimitedError(refusal: RateLimitRefusal, http?: { status: number; headers: Map<string, string> }): AppError {
  return new AppError(ErrorCode.RATE_LIMITED, refusal.message, { retryAfterSeconds: refusal.retryAfterSeconds, ...(http ? { http } : {}) });
}

/** A key refused as bad, unknown or revoked: a failed authentication (a database that did not answer is not one). */
export function isRefusedKey(error: unknown): boolean {
  return error instanceof AppError && error.extensions.code === ErrorCode.UNAUTHENTICATED;
}

/** Every limit counts over one minute, in fixed windows starting at the first unit. */
const WINDOW_SECONDS = 60;
const WINDOW_MS = WINDOW_SECONDS * 1000;
/** Addresses with a recent failed authentication this instance remembers at most. */
const MAX_ADDRESSES_REMEMBERED = 100_000;

/**
 * How long a request waits for Redis before it is counted in this instance's memory instead. Redis
 * answers in well under a millisecond here; past this, it is in trouble, and requests must not wait
 * with it.
 */
const STORE_TIMEOUT_MS = 200;

/**
 * The request limits: per API key, per IP address without a valid key (anonymous), and per IP address
 * for failed authentications. On Redis (RATE_LIMIT_STORE, keys prefixed by RATE_LIMIT_NAMESPACE) every
 * instance shares the counts; with `memory` each instance counts alone.
 *
 * A key's units are counted in this instance's memory and settled with Redis in batches
 * (local-allowance.ts): N instances together may let a key through at most N × 1 % over its limit in
 * a minute, and a request within the allowance costs no round trip.
 *
 * A Redis that fails never fails or holds a request: each limiter is wrapped in a 200 ms timeout, and
 * any error, timeout, or a connection that is not ready (answered at once, not queued) falls back to
 * an in-memory limiter with the same points (rate-limiter-flexible's insuranceLimiter). During an
 * outage each instance thus allows up to the full limit on its own: looser, never closed.
 */
export class RateLimits {
  /** Addresses that failed to authenticate on this instance, until their window ends. */
  private readonly failedHere = new Map<string, number>();

  private constructor(
    private readonly config: RateLimitConfig,
    private readonly perKey: RateLimiterAbstract | LocalAllowance,
    private readonly anonymous: RateLimiterAbstract,
    private readonly failedAuth: RateLimiterAbstract,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly redis: Redis | undefined,
  ) {}

  /** Connects to the store (within seconds, or the start fails naming RATE_LIMIT_STORE). */
  static async connect(config: RateLimitConfig, metrics: Metrics, logger: Logger): Promise<RateLimits> {
    let redis: Redis | undefined;
    if (config.store !== "memory") {
      try {
        redis = await connectRedis(config.store, "rate limits", logger);
      } catch (error) {
        throw new UnreachableServiceError("rate-limit store", config.store, "RATE_LIMIT_STORE", error);
      }
    }
    const limiter = (name: string, points: number): RateLimiterAbstract => {
      const keyPrefix = `${config.namespace}:rl:${name}`;
      const memory = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
      if (!redis) return memory;
      const shared = new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: WINDOW_SECONDS, rejectIfRedisNotReady: true });
      return new RLWrapperTimeouts({ limiter: shared, timeoutMs: STORE_TIMEOUT_MS, insuranceLimiter: memory });
    };
    return new RateLimits(
      config,
      redis ? new LocalAllowance(limiter("key", config.perKeyPerMinute), config.perKeyPerMinute) : limiter("key", config.perKeyPerMinute),
      limiter("anonymous", config.anonymousPerMinute),
      limiter("failed-auth", config.failedAuthPerMinute),
      metrics,
      logger,
      redis,
    );
  }

  /** Open sockets one key may hold on this instance. */
  get maxSocketsPerKey(): number {
    return this.config.maxSocketsPerKey;
  }

  /** Spends `units` of the key's minute: refused once the key has used RATE_LIMIT. */
  async forKey(keyId: string, units: number): Promise<RateLimitRefusal | undefined> {
    const limit = this.config.perKeyPerMinute;
    const rule = `this API key may make ${limit} requests a minute (statistics count ${STATISTICS_COST})`;
    if (!(this.perKey instanceof LocalAllowance)) return this.consume(this.perKey, keyId, units, "key", rule);
    try {
      const outcome = await this.perKey.consume(keyId, units);
      return outcome && this.refused("key", `rate limit exceeded: ${rule}`, outcome.retryInMs);
    } catch (error) {
      this.logger.warn({ err: error, limit: "key" }, "rate limits: could not count a request; letting it through");
      return undefined;
    }
  }

  /** Spends `units` of the address's minute for requests without a key. */
  async forAnonymous(address: string, units: number): Promise<RateLimitRefusal | undefined> {
    const limit = this.config.anonymousPerMinute;
    return this.consume(this.anonymous, address, units, "anonymous", `at most ${limit} requests a minute without an API key`);
  }

  /**
   * Refuses an address that has used up its failed authentications, before its key is looked up: a
   * key guesser learns nothing more this minute, not even whether a guess was right. The store is
   * asked only for addresses that failed on this instance within the window: a request with a good
   * key from a clean address costs one round trip (its count), not two. An address over the limit on
   * other instances is refused here from its first failure on this one, so a guesser spreading over
   * N instances gains at most one guess per instance and window.
   */
  async failedAuthBlocked(address: string): Promise<RateLimitRefusal | undefined> {
    const until = this.failedHere.get(address);
    if (until === undefined) return undefined;
    if (until <= Date.now()) {
      this.failedHere.delete(address);
      return undefined;
    }
    let used: RateLimiterRes | null;
    try {
      used = await this.failedAuth.get(address);
    } catch (error) {
      this.logger.warn({ err: error }, "rate limits: could not read failed authentications; letting the request through");
      return undefined;
    }
    if (!used || used.consumedPoints < this.config.failedAuthPerMinute) return undefined;
    return this.refused("failed_auth", this.failedAuthMessage(), used.msBeforeNext);
  }

  /** Counts a failed authentication from the address; refused once it goes over the limit. */
  async failedAuthentication(address: string): Promise<RateLimitRefusal | undefined> {
    // Bounded: a flood of addresses forgets the oldest (each is still counted in the store).
    if (this.failedHere.size >= MAX_ADDRESSES_REMEMBERED) this.failedHere.delete(this.failedHere.keys().next().value!);
    this.failedHere.delete(address);
    this.failedHere.set(address, Date.now() + WINDOW_MS);
    return this.consume(this.failedAuth, address, 1, "failed_auth", this.failedAuthMessage());
  }

  /**
   * Whether a key that already holds `open` sockets on this instance may not open another. Counted
   * per instance, not in the store: a socket's end is not always seen (a crashed instance never
   * reports its sockets closed), and a shared count would leak. With N instances behind a balancer a
   * key may hold up to N × MAX_SOCKETS_PER_KEY sockets in all.
   */
  tooManySockets(open: number): boolean {
    if (open < this.config.maxSocketsPerKey) return false;
    this.metrics.rateLimited.inc({ limit: "sockets" });
    return true;
  }

  /** Closes the Redis connection: QUIT lets counts in flight finish, but a Redis that does not answer cannot hold the stop. */
  async close(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    if (this.perKey instanceof LocalAllowance) await this.perKey.close().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, STORE_TIMEOUT_MS * 5)));
    await Promise.race([redis.quit().catch(() => undefined), gaveUp]);
    clearTimeout(timer);
    redis.disconnect();
  }

  private failedAuthMessage(): string {
    return `too many failed authentications from this address (at most ${this.config.failedAuthPerMinute} a minute)`;
  }

  private async consume(
    limiter: RateLimiterAbstract,
    subject: string,
    units: number,
    limit: LimitName,
    rule: string,
  ): Promise<RateLimitRefusal | undefined> {
    try {
      await limiter.consume(subject, units);
      return undefined;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return this.refused(limit, `rate limit exceeded: ${rule}`, outcome.msBeforeNext);
      // Both Redis and the in-memory fallback failed (the latter never should): let the request through.
      this.logger.warn({ err: outcome, limit }, "rate limits: could not count a request; letting it through");
      return undefined;
    }
  }

  private refused(limit: LimitName, message: string, msBeforeNext: number): RateLimitRefusal {
    this.metrics.rateLimited.inc({ limit });
    const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return { limit, message: `${message}; retry in ${retryAfterSeconds} s`, retryAfterSeconds };
  }
}
