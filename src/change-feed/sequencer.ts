import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { LoopHold } from "../db/background.js";
import type { Queryable } from "../db/entity-rows.js";
import { LoopConnection, type Statement } from "../db/loop-connection.js";
import { ChangeFeedService } from "./change-feed.service.js";
import type { ReferralChange } from "./change-feed.types.js";
import { retryingDeadlocks } from "../db/errors.js";

/** Events one sequencer transaction places at most. */
export const SEQUENCE_BATCH = 5000;
/** How often each instance looks for committed changes nobody has placed yet (another instance died between commit and sequencing). */
const POLL_MS = 1000;

/**
 * Called inside the sequencer's transaction, with the batch it is placing: what it writes commits with
 * the batch. The events are marked with their batch only at the commit: a writer finds them by id.
 * Answers how many rows it wrote.
 */
export type BatchWriter = (q: Queryable, batch: PlacedEvents, now: Date) => Promise<number>;

/** The events a batch placed: its number, and what each event was (writers skip what calls for nothing). */
export interface PlacedEvents {
  batch: number;
  events: readonly { id: string; action: string; to: string }[];
}
/** Called after a batch has committed, with the rows each writer wrote, by the writer's name. */
export type BatchListener = (batch: number, written: ReadonlyMap<string, number>) => void;

/** Takes the changes of the batches this instance places, read in their transactions (the live change stream). */
export interface PlacedChangesTaker {
  /** Whether the changes are wanted now (else they are not read). */
  readonly wantsChanges: boolean;
  /** Called once the batch has committed, before its listeners. */
  takePlaced(batch: number, changes: readonly ReferralChange[]): void;
}

const LOOP = "change-feed";

interface PlacedBatch {
  batch: number;
  count: number;
  written: ReadonlyMap<string, number>;
  changes?: readonly ReferralChange[];
}

/**
 * Gives committed referral changes their place in commit order. Auto-increment ids are handed out at
 * insert, not at commit, so an event id alone can be overtaken by a transaction that started earlier
 * and commits later. The sequencer only ever sees committed events (a plain read under READ
 * COMMITTED), and places every event it finds in the next batch, under the lock of the one
 * `feed_sequence` row: batch numbers follow commit order across every instance, and an event that
 * commits late lands in a later batch than anything already read. Readers order by (batch, id).
 *
 * Runs after each commit that wrote events (`nudge`), and every POLL_MS on each instance.
 */
export class ChangeSequencer {
  private running: Promise<void> | undefined;
  private again = false;
  /** A commit said it wrote events: the next run need not look whether there are any. */
  private committed = false;
  private stopping = false;
  private readonly hold = new LoopHold(() => this.nudge());
  private timer: NodeJS.Timeout | undefined;
  private readonly writers = new Map<string, BatchWriter>();
  private readonly listeners: BatchListener[] = [];
  private handOver: { feed: ChangeFeedService; taker: PlacedChangesTaker } | undefined;

  /** Every statement of the sequencer goes through a connection of its own (loop-connection.ts). */
  private readonly connection: LoopConnection;

  constructor(
    private readonly db: DataSource,
    private readonly logger: Logger,
  ) {
    this.connection = LoopConnection.to(db, LOOP);
  }

  /** `writer` runs in every batch's transaction: the batch's e-mails and webhook deliveries are written this way. */
  writeWith(name: string, writer: BatchWriter): void {
    this.writers.set(name, writer);
  }

  /** `taker` gets the changes of each batch placed here, read in the batch's transaction when it wants them. */
  handChangesTo(taker: PlacedChangesTaker): void {
    this.handOver = { feed: new ChangeFeedService(this.db), taker };
  }

  /** `listener` hears of each batch once it has committed. */
  onBatch(listener: BatchListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer = setInterval(() => this.nudge(), POLL_MS);
    this.timer.unref();
    this.nudge();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
    await this.connection.close();
  }

  /** Places what has committed, soon; coalesces with a run already going. Never throws. */
  nudge(afterCommit = false): void {
    if (afterCommit) this.committed = true;
    if (this.stopping || this.hold.held) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.again = false;
    this.running = this.drain()
      .catch((err) => this.logger.error({ err }, "the change sequencer failed; it runs again within a second"))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.nudge();
      });
  }

  /**
   * Runs `work` with sequencing held back on this instance, then catches up: a sweep expiring a backlog
   * is not slowed by placing its events meanwhile. The feed's order is the commit order either way.
   */
  holding<T>(work: () => Promise<T>): Promise<T> {
    return this.hold.during(work);
  }

  /** Runs until nothing is left to place, once any hold has ended (what tests await). */
  async settle(): Promise<void> {
    this.nudge();
    for (;;) {
      if (this.running) await this.running;
      else if (this.hold.held) await this.hold.released();
      else return;
    }
  }

  private async drain(): Promise<void> {
    const known = this.committed;
    this.committed = false;
    // Cheap when idle: one probe of the index's NULL range, no lock.
    if (!known && (await this.connection.query("SELECT 1 AS found FROM referral_events WHERE feed_batch IS NULL LIMIT 1")).length === 0)
      return;
    while (!this.hold.held) {
      const placed = await this.placeBatch();
      if (placed === undefined) return;
      if (placed.changes) this.handOver?.taker.takePlaced(placed.batch, placed.changes);
      for (const listener of this.listeners) listener(placed.batch, placed.written);
      if (placed.count < SEQUENCE_BATCH) return;
    }
  }

  /** One batch in one transaction, run again when InnoDB refuses it a lock (the writers' rows meet requests'). */
  private placeBatch(): Promise<PlacedBatch | undefined> {
    return retryingDeadlocks(() => this.placeBatchOnce());
  }

  /**
   * Three round trips when nothing calls for an e-mail: the batch's number and its events (with the
   * transaction's start), the writers' reads, then the events marked with the commit.
   */
  private placeBatchOnce(): Promise<PlacedBatch | undefined> {
    return this.connection.transaction<PlacedBatch | undefined>(async (q) => {
      // The row lock is what orders batches: one sequencer at a time, on every instance. The new
      // number comes back with the UPDATE; an unused one is rolled back with the rest.
      const [{ insertId }, found] = (await q.batch([
        ["UPDATE feed_sequence SET last_batch = LAST_INSERT_ID(last_batch + 1) WHERE id = 1"],
        [
          `SELECT CAST(id AS CHAR) AS id, action, to_status AS \`to\` FROM referral_events WHERE feed_batch IS NULL ORDER BY id LIMIT ${SEQUENCE_BATCH}`,
        ],
      ])) as [{ insertId: number | string }, PlacedEvents["events"]];
      if (found.length === 0) return { finish: () => undefined };
      const batch = Number(insertId);
      const now = new Date();
      const written = new Map<string, number>();
      for (const [name, write] of this.writers) written.set(name, await write(q, { batch, events: found }, now));
      const ids = found.map(({ id }) => id);
      const placed = { batch, count: found.length, written };
      const mark: Statement = ["UPDATE referral_events SET feed_batch = ? WHERE id IN (?)", [batch, ids]];
      const handOver = this.handOver?.taker.wantsChanges ? this.handOver.feed : undefined;
      if (!handOver) return { last: [mark], finish: () => placed };
      return { last: [mark, handOver.placedChanges(ids)], finish: ([, rows]) => ({ ...placed, changes: handOver.changesFrom(rows) }) };
    });
  }
}
