export interface BurstYieldOptions {
  /** Requests (in flight, or started within RISE_MS) from which the loops are held. */
  from: number;
  /** How long one hold may last. */
  atMostMs: number;
}

const BUCKET_MS = 50;
/** A burst is this many requests started within RISE_MS, or in flight at once. */
const RISE_MS = 250;
/** It has ended once no more than a quarter of that started within CALM_MS and are in flight. */
const CALM_MS = 500;
const BUCKETS = CALM_MS / BUCKET_MS;

/** Requests started over the last CALM_MS, in buckets of BUCKET_MS: the same few numbers whatever the rate. */
class Arrivals {
  private readonly counts: number[] = new Array(BUCKETS).fill(0);
  private current = 0;
  private bucket = 0;

  add(now: number): void {
    this.advance(now);
    this.counts[this.current] += 1;
  }

  /** Requests started within the last `ms` (rounded up to a bucket). */
  within(ms: number, now: number): number {
    this.advance(now);
    let sum = 0;
    for (let back = 0; back < Math.ceil(ms / BUCKET_MS); back++) sum += this.counts[(this.current - back + BUCKETS) % BUCKETS];
    return sum;
  }

  private advance(now: number): void {
    const bucket = Math.floor(now / BUCKET_MS);
    for (let step = Math.min(BUCKETS, bucket - this.bucket); step > 0; step--) {
      this.current = (this.current + 1) % BUCKETS;
      this.counts[this.current] = 0;
    }
    this.bucket = bucket;
  }
}

/**
 * The background loops give way to a burst of requests: once `from` requests have started within
 * RISE_MS (a busy process takes in its connections slowly, so that few are in flight at once even in
 * a burst) or are in flight, `hold` keeps the loops back until no more than a quarter of that have
 * started within CALM_MS and are in flight. The burst is answered first; the e-mails, webhooks, live
 * pushes and fit scores it calls for follow (they wait, and go at least once as ever). A hold never
 * lasts longer than `atMostMs`; after one that did, none starts again until the burst has ended, so
 * that a sustained load never starves the loops.
 */
export class BurstYield {
  private inFlight = 0;
  private readonly arrivals = new Arrivals();
  private holding = false;
  /** A hold of this burst reached its bound. */
  private spent = false;
  private readonly until: number;

  constructor(
    private readonly hold: <T>(work: () => Promise<T>) => Promise<T>,
    private readonly options: BurstYieldOptions,
  ) {
    this.until = Math.floor(options.from / 4);
  }

  /** A request has started: answers the function to call, once, when it has ended. */
  begin(): () => void {
    const now = Date.now();
    if (this.spent && this.calm(now)) this.spent = false;
    this.arrivals.add(now);
    this.inFlight += 1;
    const rising = this.inFlight >= this.options.from || this.arrivals.within(RISE_MS, now) >= this.options.from;
    if (rising && !this.holding && !this.spent) this.startHold();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
    };
  }

  private calm(now: number): boolean {
    return this.inFlight <= this.until && this.arrivals.within(CALM_MS, now) <= this.until;
  }

  /** Holds the loops until the burst is calm, or for `atMostMs` at most. */
  private startHold(): void {
    this.holding = true;
    const over = new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(bound);
        clearInterval(watch);
        resolve();
      };
      const bound = setTimeout(() => {
        this.spent = true;
        end();
      }, this.options.atMostMs).unref();
      const watch = setInterval(() => this.calm(Date.now()) && end(), BUCKET_MS * 2).unref();
    });
    void this.hold(() => over).finally(() => (this.holding = false));
  }
}
