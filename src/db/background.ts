import type { DataSource } from "typeorm";
import type { Queryable } from "./entity-rows.js";

/**
 * Statements of the server's own loops (the change feed's sequencer, the outbox relay) carry a
 * leading comment naming the loop, so that they can be told apart from requests' statements in the
 * process list, the slow log and the tests' statement counts.
 */
export function backgroundTag(loop: string): string {
  return `/* background: ${loop} */`;
}

/** Every statement through `q`, tagged as the loop's. */
export function tagged(q: Queryable, loop: string): Queryable {
  const tag = backgroundTag(loop);
  return { query: (sql: string, parameters?: unknown[]) => q.query(`${tag} ${sql}`, parameters) };
}

/**
 * A READ COMMITTED transaction of a background loop on one connection of the pool, every statement
 * tagged, the transaction's own included. Rolled back when `work` throws.
 */
export async function backgroundTransaction<T>(db: DataSource, loop: string, work: (q: Queryable) => Promise<T>): Promise<T> {
  const runner = db.createQueryRunner();
  const q = tagged(runner, loop);
  try {
    await q.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    await q.query("START TRANSACTION");
    try {
      const result = await work(q);
      await q.query("COMMIT");
      return result;
    } catch (error) {
      await q.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.release();
  }
}

/**
 * Holds a background loop back while some work runs (a sweep expiring a backlog is not slowed by the
 * loops that deliver what it writes), then lets it catch up. Holds nest: the loop resumes at the last release.
 */
export class LoopHold {
  private holds = 0;

  /** @param resume starts the loop again once nothing holds it. */
  constructor(private readonly resume: () => void) {}

  get held(): boolean {
    return this.holds > 0;
  }

  async during<T>(work: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      return await work();
    } finally {
      this.holds -= 1;
      if (this.holds === 0) this.resume();
    }
  }
}

export interface BurstYieldOptions {
  /** Requests in flight from which the loops are held. */
  from: number;
  /** How long one hold may last. */
  atMostMs: number;
}

/** How long a burst must stay down before the loops resume: arrivals come in waves, not all at once. */
const CALM_MS = 500;

/**
 * The background loops give way to a burst of requests: from `from` requests in flight, `hold` keeps
 * them back until the burst has stayed below a quarter of that for CALM_MS, so that a burst is
 * answered before the e-mails, webhooks, live pushes and fit scores it calls for (they wait, and go
 * at least once as ever). A hold never lasts longer than `atMostMs`; after one that did, none starts again
 * until the burst has ended, so that a sustained load never starves the loops.
 */
export class BurstYield {
  private inFlight = 0;
  private release: (() => void) | undefined;
  /** A hold of this burst reached its bound. */
  private spent = false;
  private calm: NodeJS.Timeout | undefined;
  private readonly until: number;

  constructor(
    private readonly hold: <T>(work: () => Promise<T>) => Promise<T>,
    private readonly options: BurstYieldOptions,
  ) {
    this.until = Math.floor(options.from / 4);
  }

  /** A request has started: answers the function to call, once, when it has ended. */
  begin(): () => void {
    this.inFlight += 1;
    if (this.inFlight > this.until) this.calm = void clearTimeout(this.calm);
    if (this.inFlight >= this.options.from && this.release === undefined && !this.spent) this.startHold();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      if (this.inFlight <= this.until && this.calm === undefined && (this.release !== undefined || this.spent)) {
        this.calm = setTimeout(() => this.calmed(), CALM_MS).unref();
      }
    };
  }

  private calmed(): void {
    this.calm = undefined;
    this.spent = false;
    this.release?.();
  }

  private startHold(): void {
    const over = new Promise<void>((resolve) => {
      const bound = setTimeout(() => {
        this.spent = true;
        resolve();
      }, this.options.atMostMs).unref();
      this.release = () => {
        clearTimeout(bound);
        resolve();
      };
    });
    void this.hold(() => over).finally(() => (this.release = undefined));
  }
}
