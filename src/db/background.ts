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
  private waiting: (() => void)[] = [];

  /** @param resume starts the loop again once nothing holds it. */
  constructor(private readonly resume: () => void) {}

  get held(): boolean {
    return this.holds > 0;
  }

  /** Resolves once nothing holds the loop (at once if nothing does), after it has resumed. */
  released(): Promise<void> {
    return this.held ? new Promise((resolve) => this.waiting.push(resolve)) : Promise.resolve();
  }

  async during<T>(work: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      return await work();
    } finally {
      this.holds -= 1;
      if (this.holds === 0) {
        this.resume();
        for (const resolve of this.waiting.splice(0)) resolve();
      }
    }
  }
}
