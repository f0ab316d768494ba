import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { LoopHold } from "../db/background.js";
import type { Scheduler } from "../jobs/scheduler.js";
import { LEASE_MS } from "./lease.js";
import { RELAY_POLL_MS, type OutboxChannel } from "./channel.js";
import { OutboxLane, type AttemptListener } from "./outbox-lane.js";

const OUTBOX_RELAY_JOB = "outbox-relay";
const RELAY_JOB_LOCK_MS = 10_000;

/**
 * Delivers the outbox after commit, at least once, from any number of instances: one lane per channel
 * (outbox-lane.ts), so that a slow channel never holds up another. Lanes run after every commit that
 * wrote messages (`nudge`), at their next due retry, and on Agenda every RELAY_POLL_MS.
 */
export class OutboxRelay {
  private readonly lanes: Map<string, OutboxLane>;
  private readonly hold = new LoopHold(() => this.nudge());

  constructor(
    db: DataSource,
    private readonly scheduler: Scheduler,
    channels: readonly OutboxChannel[],
    logger: Logger,
    /** Hears of each delivery attempt's outcome, by channel name (for the metrics). */
    onAttempt?: AttemptListener,
    /** How long a claim holds its messages; each delivery's deadline is half of it. */
    leaseMs = LEASE_MS,
  ) {
    const held = () => this.hold.held;
    this.lanes = new Map(channels.map((channel) => [channel.name, new OutboxLane(db, channel, logger, onAttempt, held, leaseMs)]));
    // The poll only starts the lanes: the rows' leases, not Agenda's lock, keep runs apart, and a long
    // drain (a backlog, a busy database) must not outlive the job's short lock, whose timer would also
    // outlive a stopped server.
    scheduler.agenda.define(OUTBOX_RELAY_JOB, async () => this.nudge(), { concurrency: 1, lockLifetime: RELAY_JOB_LOCK_MS });
  }

  async start(): Promise<void> {
    await this.scheduler.every(RELAY_POLL_MS, OUTBOX_RELAY_JOB);
    this.nudge();
  }

  /** Lets the current runs end, and starts no other. */
  async stop(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => lane.stop()));
  }

  /**
   * Runs `work` with delivery held back on this instance: no lane claims a message until it ends (those
   * in flight finish), then every lane runs. A sweep expiring a backlog writes a message per referral;
   * sending them meanwhile would only slow the sweep down.
   */
  holding<T>(work: () => Promise<T>): Promise<T> {
    return this.hold.during(work);
  }

  /** Starts a run of `channel`'s lane (of every lane when absent) soon. Never throws. */
  nudge(channel?: string): void {
    if (channel !== undefined) this.lanes.get(channel)?.nudge();
    else for (const lane of this.lanes.values()) lane.nudge();
  }
}
