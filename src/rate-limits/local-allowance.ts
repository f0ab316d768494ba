import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

/** How often each instance settles the units it counted in memory with the shared store. */
export const SETTLE_EVERY_MS = 100;
/** The share of a limit an instance may count in memory before it settles: what it may overshoot by. */
export const ALLOWANCE_SHARE = 0.01;

/** A key's minute as this instance knows it. */
interface KeyWindow {
  /** The shared count at the last settlement (this instance's settled units included). */
  settled: number;
  /** Units this instance let through since, not yet in the shared count. */
  unsettled: number;
  /** When the shared window ends (0: not known yet). */
  endsAt: number;
}

/** A refusal's wait, or undefined when the units may go. */
export type Outcome = { retryInMs: number } | undefined;

/**
 * Counts a limit in memory and settles with the shared store in batches (a local pre-allowance):
 * a request within this instance's allowance costs no round trip. Each instance lets through at most
 * `allowance` units (ALLOWANCE_SHARE of the limit, rounded down) that the store has not seen, and
 * settles them every SETTLE_EVERY_MS; a request past the allowance settles at once, with its own
 * units, and is answered from the store's count. So N instances together may let a key through at
 * most N × allowance units over its limit in a window; a limit under 100 has no allowance and every
 * request is counted in the store, exactly. A key this instance already knows to be over its limit is
 * refused without asking the store.
 */
export class LocalAllowance {
  private readonly windows = new Map<string, KeyWindow>();
  private readonly timer: NodeJS.Timeout;
  private readonly allowance: number;

  constructor(
    /** The shared limiter (on Redis, with its timeout and in-memory insurance). */
    private readonly shared: RateLimiterAbstract,
    private readonly limit: number,
  ) {
    this.allowance = Math.floor(limit * ALLOWANCE_SHARE);
    this.timer = setInterval(() => this.settleAll(), SETTLE_EVERY_MS);
    this.timer.unref();
  }

  async consume(key: string, units: number): Promise<Outcome> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || (window.endsAt <= now && window.unsettled === 0))
      this.windows.set(key, (window = { settled: 0, unsettled: 0, endsAt: 0 }));
    if (window.endsAt > now && window.settled + window.unsettled + units > this.limit) return { retryInMs: window.endsAt - now };
    if (window.unsettled + units <= this.allowance) {
      window.unsettled += units;
      return undefined;
    }
    return this.settle(key, window, units);
  }

  /** Settles what is left, and stops settling. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.windows].map(([key, window]) => (window.unsettled > 0 ? this.settle(key, window, 0) : undefined)));
  }

  /** Adds this instance's unsettled units (and `units`, a request's own) to the shared count, and learns it. */
  private async settle(key: string, window: KeyWindow, units: number): Promise<Outcome> {
    const sending = window.unsettled + units;
    window.unsettled = 0;
    const startedAt = Date.now();
    try {
      const counted = await this.shared.consume(key, sending);
      this.learn(window, counted, startedAt);
      return undefined;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      this.learn(window, outcome, startedAt);
      return { retryInMs: outcome.msBeforeNext };
    }
  }

  private learn(window: KeyWindow, counted: RateLimiterRes, startedAt: number): void {
    window.settled = counted.consumedPoints;
    window.endsAt = startedAt + counted.msBeforeNext;
  }

  private settleAll(): void {
    const now = Date.now();
    for (const [key, window] of this.windows) {
      if (window.unsettled > 0) void this.settle(key, window, 0).catch(() => undefined);
      else if (window.endsAt <= now) this.windows.delete(key);
    }
  }
}
