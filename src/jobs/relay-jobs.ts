import { RELAY_POLL_MS } from "../outbox/index.js";
import type { OutboxRelay } from "../outbox/index.js";
import type { Scheduler } from "./scheduler.js";

const OUTBOX_RELAY_JOB = "outbox-relay";
const RELAY_JOB_LOCK_MS = 10_000;

/**
 * The outbox relay's poll on Agenda, every RELAY_POLL_MS on some instance: it catches what no commit
 * nudged (an instance that died before its nudge, a retry come due). The poll only starts the lanes:
 * the rows' leases, not Agenda's lock, keep runs apart, and a long drain (a backlog, a busy database)
 * must not outlive the job's short lock, whose timer would also outlive a stopped server.
 */
export class RelayJobs {
  constructor(
    private readonly scheduler: Scheduler,
    relay: OutboxRelay,
  ) {
    scheduler.agenda.define(OUTBOX_RELAY_JOB, async () => relay.nudge(), { concurrency: 1, lockLifetime: RELAY_JOB_LOCK_MS });
  }

  async start(): Promise<void> {
    await this.scheduler.every(RELAY_POLL_MS, OUTBOX_RELAY_JOB);
  }
}
