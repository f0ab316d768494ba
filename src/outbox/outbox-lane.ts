import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { tagged } from "../db/background.js";
import { LoopConnection, type Statement } from "../db/loop-connection.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { deliveryDeadline, LEASE_MS } from "./lease.js";
import { DeliveryStatus, OutboxMessage } from "./outbox-message.entity.js";
import { recordOutcome, type Outcome } from "./outcome.js";
import { DeliveryFailure, RELAY_POLL_MS, type DeliveryResult, type OutboxChannel } from "./channel.js";

/** What became of one delivery attempt: sent, failed (retried or FAILED), or dropped as having nothing to send. */
export type AttemptOutcome = "delivered" | "failed" | "obsolete";
export type AttemptListener = (channel: string, outcome: AttemptOutcome) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const JITTER = 0.1;
/** How often an outcome the database refused is written again, while the lease lasts. */
const RECORD_RETRY_MS = 1000;
/** With a cap per recipient, a claim looks at this many times its free slots to find other recipients. */
const OVERSELECT = 4;
const LOOP = "outbox";

/** The delay before attempt `attempts + 1`, jittered so that retries of a burst do not arrive together. */
function retryDelay(delays: readonly number[], attempts: number): number | undefined {
  const delay = delays[attempts - 1];
  return delay === undefined ? undefined : Math.round(delay * (1 + (Math.random() * 2 - 1) * JITTER));
}

/** A failure's name and codes, never its message: messages can carry addresses or secrets. */
function describeForLog(error: unknown): Record<string, unknown> {
  const { name, code, responseCode, responseStatus } = (error ?? {}) as Record<string, unknown>;
  return { name, code, responseCode, responseStatus };
}

/**
 * One channel's deliveries, from any number of instances. A run claims due messages (SELECT … FOR
 * UPDATE SKIP LOCKED, then a lease: a token, and `next_attempt_at` pushed to the lease's end, so a run
 * that dies leaves them due again when its lease ends), delivers them in the channel's slots, each
 * aborted at its deadline halfway through the lease, and records each outcome only if it still holds
 * the lease.
 */
export class OutboxLane {
  private readonly rows: EntityRows<OutboxMessage>;
  /** The pool, every statement tagged as the relay's. */
  private readonly q: Queryable;
  private readonly claimable: string;
  /**
   * Claims go through a connection of the lane's own: two round trips (the transaction's start with the
   * locking read, then the lease with the commit) where the pool takes five, for every claim of a busy relay.
   */
  private readonly claims: LoopConnection;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private nextRetry: NodeJS.Timeout | undefined;
  /** Resolves the running drain's wait for a free slot: a commit has written new messages. */
  private wake: (() => void) | undefined;
  /** Deliveries in flight per recipient on this instance. */
  private readonly inFlightTo = new Map<string, number>();
  /** The messages in flight on this instance: never claimed again until their attempt has ended, whatever their rows say. */
  private readonly inFlightIds = new Set<string>();
  private readonly deadlineMs: number;

  constructor(
    db: DataSource,
    private readonly channel: OutboxChannel,
    private readonly logger: Logger,
    /** Hears of each attempt's outcome once it is recorded (for the metrics). */
    private readonly onAttempt?: AttemptListener,
    /** While true, the lane claims nothing (OutboxRelay.holding); it is nudged when that ends. */
    private readonly held: () => boolean = () => false,
    private readonly leaseMs = LEASE_MS,
  ) {
    this.deadlineMs = deliveryDeadline(leaseMs);
    this.rows = new EntityRows(db, OutboxMessage);
    this.q = tagged(db, LOOP);
    this.claims = LoopConnection.to(db, LOOP);
    this.claimable = channel.claimableWhen ? ` AND ${channel.claimableWhen}` : "";
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.nextRetry);
    await this.running;
    await this.claims.close();
  }

  nudge(): void {
    if (this.stopping || this.held()) return;
    if (this.running) {
      this.again = true;
      this.wake?.();
      return;
    }
    this.again = false;
    this.running = this.drain()
      .catch((err) => this.logger.error({ err, channel: this.channel.name }, "the outbox relay failed; it runs again at its next poll"))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.nudge();
      });
  }

  /**
   * Claims as many due messages as there are free delivery slots, starts them, and claims again as
   * soon as a slot frees or a commit nudges: a message never waits for a slower one. Ends when nothing
   * is due and nothing is in flight.
   */
  private async drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    // Whether the last claim may have left due messages behind.
    let dueLeft = true;
    // Whether it left some for a recipient at its cap: a freed slot may let them go.
    let capped = false;
    for (;;) {
      if (this.stopping || this.held()) break;
      const free = this.channel.inFlight - inFlight.size;
      if ((dueLeft || this.again) && free > 0) {
        this.again = false;
        const claim = await this.claim(free);
        // What the claim's deliveries will read, in one statement; each reads its own if this fails.
        const prepared = claim.claimed.length > 1 ? await this.channel.prepare?.(claim.claimed).catch(() => undefined) : undefined;
        for (const message of claim.claimed) inFlight.add(this.start(message, inFlight, prepared?.get(message.id)));
        dueLeft = claim.more;
        capped = claim.capped;
        continue;
      }
      if (inFlight.size === 0) break;
      // Whichever comes first: a slot frees, or a commit writes new messages.
      await Promise.race([...inFlight, new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
      if (capped) dueLeft = true;
    }
    await Promise.all(inFlight);
    await this.planNextRetry();
  }

  private start(message: OutboxMessage, inFlight: Set<Promise<void>>, prepared: unknown): Promise<void> {
    const { id, recipient } = message;
    this.inFlightIds.add(id);
    this.inFlightTo.set(recipient, (this.inFlightTo.get(recipient) ?? 0) + 1);
    // deliver never throws: a rejection here would outlive the drain that started it, unhandled.
    const delivery: Promise<void> = this.deliver(message, prepared).finally(() => {
      inFlight.delete(delivery);
      this.inFlightIds.delete(id);
      const left = this.inFlightTo.get(recipient)! - 1;
      if (left === 0) this.inFlightTo.delete(recipient);
      else this.inFlightTo.set(recipient, left);
    });
    return delivery;
  }

  /**
   * Takes up to `limit` due messages under a new lease, at most `perRecipient` in flight per recipient;
   * another run's claimed rows are skipped, and so are this instance's messages in flight. `more`: more
   * may be due now; `capped`: some wait for a recipient's slot.
   */
  private async claim(limit: number): Promise<{ claimed: OutboxMessage[]; more: boolean; capped: boolean }> {
    const cap = this.channel.perRecipient;
    const busy = cap === undefined ? [] : [...this.inFlightTo].filter(([, count]) => count >= cap).map(([recipient]) => recipient);
    const looked = cap === undefined ? limit : limit * OVERSELECT;
    // Recipients at their cap, and this instance's messages in flight (a row may say one is due again).
    const excluded = [
      { column: "o.recipient", values: busy },
      { column: "o.id", values: [...this.inFlightIds] },
    ].filter(({ values }) => values.length > 0);
    const token = randomUUID();
    const now = new Date();
    const leaseEnd = new Date(now.getTime() + this.leaseMs);
    return this.claims.transaction(async (q) => {
      // In due order along the index: a claim reads about as many rows as it takes, whatever the backlog.
      // Named, because MySQL would rather drive a webhook claim from the endpoints and sort every
      // pending delivery (0.4 s at 40,000, and slower as the backlog grows).
      const due = await this.rows.select(
        q,
        "o",
        `FORCE INDEX (ix_outbox_messages_channel_due) WHERE o.channel = ? AND o.status = ? AND o.next_attempt_at <= ?${excluded.map(({ column }) => ` AND ${column} NOT IN (?)`).join("")}${this.claimable}
         ORDER BY o.next_attempt_at, o.id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [this.channel.name, DeliveryStatus.PENDING, now, ...excluded.map(({ values }) => values), looked],
      );
      const taken = new Map<string, number>();
      const claimed: OutboxMessage[] = [];
      for (const message of due) {
        if (claimed.length === limit) break;
        const count = (this.inFlightTo.get(message.recipient) ?? 0) + (taken.get(message.recipient) ?? 0);
        if (cap !== undefined && count >= cap) continue;
        taken.set(message.recipient, (taken.get(message.recipient) ?? 0) + 1);
        claimed.push(Object.assign(message, { leaseToken: token, nextAttemptAt: leaseEnd }));
      }
      const result = { claimed, more: due.length === looked, capped: busy.length > 0 || claimed.length < due.length };
      // The lease is written with the COMMIT; rows looked at but not taken are unlocked by it, as they were.
      if (claimed.length === 0) return { finish: () => result };
      const lease: Statement = [
        "UPDATE outbox_messages SET lease_token = ?, next_attempt_at = ? WHERE id IN (?)",
        [token, leaseEnd, claimed.map(({ id }) => id)],
      ];
      return { last: [lease], finish: () => result };
    });
  }

  /** Attempts the message, then records the outcome. Never throws: an outcome it cannot record leaves the message to its lease. */
  private async deliver(message: OutboxMessage, prepared: unknown): Promise<void> {
    let outcome: Outcome;
    try {
      const result = await this.attempt(message, prepared);
      outcome = result === "obsolete" ? { obsolete: true } : { responseStatus: typeof result === "object" ? result.responseStatus : null };
    } catch (error) {
      const attempts = message.attempts + 1;
      const retryInMs = retryDelay(this.channel.retryDelaysMs, attempts);
      this.logger.warn(
        { outboxId: message.id, channel: message.channel, kind: message.kind, attempts, retryInMs, error: describeForLog(error) },
        retryInMs === undefined ? "delivery failed for the last time" : "delivery failed; it will be retried",
      );
      outcome = { failure: error, retryInMs };
    }
    const recorded = await this.whileLeased(message, () => recordOutcome(this.q, message, outcome));
    if (!recorded) return;
    this.onAttempt?.(this.channel.name, "obsolete" in outcome ? "obsolete" : "failure" in outcome ? "failed" : "delivered");
    if ("obsolete" in outcome) return;
    await this.channel.attempted?.(message, "failure" in outcome ? outcome.failure : undefined).catch((err: unknown) => {
      this.logger.warn({ err, outboxId: message.id, channel: message.channel }, "could not note a delivery attempt for its recipient");
    });
  }

  /**
   * Runs `write` until it succeeds, as long as the message's lease lasts: a database that stalls
   * after a send must not make a delivered message look undelivered (it would be sent again when its
   * lease ends). False when the lease ran out first.
   */
  private async whileLeased(message: OutboxMessage, write: () => Promise<void>): Promise<boolean> {
    const leaseEnd = message.nextAttemptAt.getTime();
    for (;;) {
      try {
        await write();
        return true;
      } catch (err) {
        if (Date.now() + RECORD_RETRY_MS >= leaseEnd) {
          this.logger.error(
            { err, outboxId: message.id, channel: message.channel },
            "could not record a delivery's outcome within its lease; it will be attempted again",
          );
          return false;
        }
        await sleep(RECORD_RETRY_MS);
      }
    }
  }

  /**
   * The channel's delivery of `message`, aborted at its deadline: the channel stops it for real (closes
   * its connection), and the attempt is a failure that says so, retried on the schedule.
   */
  private async attempt(message: OutboxMessage, prepared: unknown): Promise<DeliveryResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.deadlineMs);
    try {
      return await this.channel.deliver(message, deadline.signal, prepared);
    } catch (error) {
      if (!deadline.signal.aborted) throw error;
      throw new DeliveryFailure(`aborted at the delivery's deadline: no outcome within ${this.deadlineMs} ms`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wakes this instance for the next retry due before the next poll, so that short schedules are kept. */
  private async planNextRetry(): Promise<void> {
    if (this.stopping) return;
    // The first in due order along the claim's index: it stops at the first claimable message.
    const [first]: { next: Date }[] = await this.q.query(
      `SELECT o.next_attempt_at AS next FROM outbox_messages o FORCE INDEX (ix_outbox_messages_channel_due)
       WHERE o.channel = ? AND o.status = ?${this.claimable} ORDER BY o.next_attempt_at, o.id LIMIT 1`,
      [this.channel.name, DeliveryStatus.PENDING],
    );
    clearTimeout(this.nextRetry);
    if (first === undefined) return;
    const { next } = first;
    const wait = Math.max(0, next.getTime() - Date.now());
    if (wait < RELAY_POLL_MS) this.nextRetry = setTimeout(() => this.nudge(), wait + 5);
  }
}
