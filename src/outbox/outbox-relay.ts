import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { LoopHold } from "../db/background.js";
import { LEASE_MS } from "./lease.js";
import type { OutboxChannel } from "./channel.js";
import { OutboxLane, type AttemptListener } from "./outbox-lane.js";

/**
 * Delivers the outbox after commit, at least once, from any number of instances: one lane per channel
 * (outbox-lane.ts), so that a slow channel never holds up another. Lanes run after every commit that
 * wrote messages (`nudge`), at their next due retry, and at each poll (src/jobs/relay-jobs.ts).
 */
export class OutboxRelay {
  private readonly lanes: Map<string, OutboxLane>;
  private readonly hold = new LoopHold(() => this.nudge());

  constructor(
    db: DataSource,
    channels: readonly OutboxChannel[],
    logger: Logger,
    /** Hears of each delivery attempt's outcome, by channel name (for the metrics). */
    onAttempt?: AttemptListener,
    /** How long a claim holds its messages; each delivery's deadline is half of it. */
    leaseMs = LEASE_MS,
  ) {
    const held = () => this.hold.held;
    this.lanes = new Map(channels.map((channel) => [channel.name, new OutboxLane(db, channel, logger, onAttempt, held, leaseMs)]));
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
