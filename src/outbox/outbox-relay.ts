import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { EntityRows } from "../db/entity-rows.js";
import type { Scheduler } from "../jobs/scheduler.js";
import { DeliveryStatus, OutboxMessage } from "./outbox-message.entity.js";

/** What delivers one channel's messages (e-mail, webhooks). */
export interface OutboxChannel {
  readonly name: string;
  /** The delays between attempts; once used up, a message is FAILED. */
  readonly retryDelaysMs: readonly number[];
  /**
   * Delivers the message, or throws why it could not (it is retried). "obsolete" when there is nothing
   * to send any more (a reminder for a referral answered meanwhile): the message is dropped.
   */
  deliver(message: OutboxMessage): Promise<"delivered" | "obsolete">;
}

const OUTBOX_RELAY_JOB = "outbox-relay";
/** The recurring relay run: messages of other instances' changes, and retries, are never later than this. */
const RELAY_POLL_MS = 5000;
/** Deliveries in flight at once per instance; a run claims as many as are free, never more. */
const IN_FLIGHT = 8;
/** How long a claim holds its messages: longer than any delivery's own timeouts. */
const LEASE_MS = 120_000;
const RELAY_JOB_LOCK_MS = 10_000;
const JITTER = 0.1;
const MAX_ERROR_LENGTH = 1000;

/** The delay before attempt `attempts + 1`, jittered so that retries of a burst do not arrive together. */
function retryDelay(delays: readonly number[], attempts: number): number | undefined {
  const delay = delays[attempts - 1];
  return delay === undefined ? undefined : Math.round(delay * (1 + (Math.random() * 2 - 1) * JITTER));
}

/** A failure's name and code, never its message: messages can carry addresses or secrets. */
function describeForLog(error: unknown): Record<string, unknown> {
  const { name, code, responseCode } = (error ?? {}) as { name?: string; code?: string; responseCode?: number };
  return { name, code, responseCode };
}

/**
 * Delivers the outbox after commit, at least once, from any number of instances. A run claims due
 * messages (SELECT … FOR UPDATE SKIP LOCKED, then a lease: a token, and `next_attempt_at` pushed to
 * the lease's end, so a run that dies leaves them due again when its lease ends), delivers them on a
 * few workers, and records each outcome only if it still holds the lease. Runs start after every commit
 * that wrote messages (`nudge`), at the next due retry, and on Agenda every RELAY_POLL_MS.
 */
export class OutboxRelay {
  private readonly channels: Map<string, OutboxChannel>;
  private readonly rows: EntityRows<OutboxMessage>;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private nextRetry: NodeJS.Timeout | undefined;
  /** Resolves the running drain's wait for a free slot: a commit has written new messages. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly db: DataSource,
    private readonly scheduler: Scheduler,
    channels: readonly OutboxChannel[],
    private readonly logger: Logger,
  ) {
    this.channels = new Map(channels.map((channel) => [channel.name, channel]));
    this.rows = new EntityRows(db, OutboxMessage);
    // A short lock: the rows' leases, not Agenda's lock, keep runs apart; Agenda's lock timer would outlive a stopped server.
    scheduler.agenda.define(OUTBOX_RELAY_JOB, () => this.run(), { concurrency: 1, lockLifetime: RELAY_JOB_LOCK_MS });
  }

  async start(): Promise<void> {
    await this.scheduler.agenda.every(RELAY_POLL_MS, OUTBOX_RELAY_JOB);
    this.nudge();
  }

  /** Lets the current run end, and starts no other. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.nextRetry);
    await this.running;
  }

  /** Starts a run soon, or another one as soon as the current one ends. Never throws. */
  nudge(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      this.wake?.();
      return;
    }
    this.again = false;
    this.running = this.drain()
      .catch((err) => this.logger.error({ err }, "the outbox relay failed; it runs again at its next poll"))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.nudge();
      });
  }

  /** One run to the end (what the Agenda job awaits). */
  async run(): Promise<void> {
    this.nudge();
    await this.running;
  }

  /**
   * Claims as many due messages as there are free delivery slots, starts them, and claims again as
   * soon as a slot frees or a commit nudges: a message never waits for a slower one. Ends when nothing
   * is due and nothing is in flight.
   */
  private async drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    // Whether the last claim filled every free slot: more may be due.
    let dueLeft = true;
    for (;;) {
      if (this.stopping) break;
      const free = IN_FLIGHT - inFlight.size;
      if ((dueLeft || this.again) && free > 0) {
        this.again = false;
        const claimed = await this.claim(free);
        for (const message of claimed) {
          const delivery: Promise<void> = this.deliver(message).finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
        }
        dueLeft = claimed.length === free;
        continue;
      }
      if (inFlight.size === 0) break;
      // Whichever comes first: a slot frees, or a commit writes new messages.
      await Promise.race([...inFlight, new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
    }
    await Promise.all(inFlight);
    await this.planNextRetry();
  }

  /** Takes up to `limit` due messages under a new lease; another run's claimed rows are skipped. */
  private async claim(limit: number): Promise<OutboxMessage[]> {
    const token = randomUUID();
    const now = new Date();
    const claimed = await this.db.transaction("READ COMMITTED", async (em) => {
      const due: { id: string }[] = await em.query(
        `SELECT CAST(id AS CHAR) AS id FROM outbox_messages
         WHERE status = ? AND next_attempt_at <= ? AND channel IN (?)
         ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [DeliveryStatus.PENDING, now, [...this.channels.keys()], limit],
      );
      if (due.length === 0) return false;
      await em.query("UPDATE outbox_messages SET lease_token = ?, next_attempt_at = ? WHERE id IN (?)", [
        token,
        new Date(now.getTime() + LEASE_MS),
        due.map(({ id }) => id),
      ]);
      return true;
    });
    if (!claimed) return [];
    return this.rows.select(this.db, "o", "WHERE o.lease_token = ? ORDER BY o.id", [token]);
  }

  private async deliver(message: OutboxMessage): Promise<void> {
    const channel = this.channels.get(message.channel)!;
    const held = "id = ? AND lease_token = ?";
    try {
      if ((await channel.deliver(message)) === "obsolete") {
        await this.db.query(`DELETE FROM outbox_messages WHERE ${held}`, [message.id, message.leaseToken]);
        return;
      }
      await this.db.query(
        `UPDATE outbox_messages SET status = ?, attempts = attempts + 1, sent_at = ?, last_error = NULL, lease_token = NULL WHERE ${held}`,
        [DeliveryStatus.SUCCEEDED, new Date(), message.id, message.leaseToken],
      );
    } catch (error) {
      const attempts = message.attempts + 1;
      const delay = retryDelay(channel.retryDelaysMs, attempts);
      const why = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
      this.logger.warn(
        { outboxId: message.id, channel: message.channel, kind: message.kind, attempts, retryInMs: delay, error: describeForLog(error) },
        delay === undefined ? "delivery failed for the last time" : "delivery failed; it will be retried",
      );
      await this.db.query(
        `UPDATE outbox_messages SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_token = NULL WHERE ${held}`,
        [
          delay === undefined ? DeliveryStatus.FAILED : DeliveryStatus.PENDING,
          new Date(Date.now() + (delay ?? 0)),
          why,
          message.id,
          message.leaseToken,
        ],
      );
    }
  }

  /** Wakes this instance for the next retry due before the next poll, so that short schedules are kept. */
  private async planNextRetry(): Promise<void> {
    if (this.stopping) return;
    const [{ next }]: { next: Date | null }[] = await this.db.query(
      "SELECT MIN(next_attempt_at) AS next FROM outbox_messages WHERE status = ? AND channel IN (?)",
      [DeliveryStatus.PENDING, [...this.channels.keys()]],
    );
    clearTimeout(this.nextRetry);
    if (next === null) return;
    const wait = Math.max(0, next.getTime() - Date.now());
    if (wait < RELAY_POLL_MS) this.nextRetry = setTimeout(() => this.nudge(), wait + 5);
  }
}
