import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { writeDueReminders } from "../notifications/index.js";
import type { OutboxRelay } from "../outbox/index.js";
import type { Scheduler } from "./scheduler.js";

const REMINDERS_JOB = "response-reminders";
const JOB_LOCK_MS = 10_000;

/**
 * Reminders to answer: every EXPIRY_SWEEP_EVERY, one statement writes a RESPONSE_REMINDER for each
 * NEW referral whose deadline is now within REMINDER_BEFORE and that has none, and the relay sends
 * them. Idempotent: a referral has at most one reminder, whichever instance runs the job.
 */
export class ReminderJobs {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly db: DataSource,
    private readonly relay: OutboxRelay,
    private readonly reminderBeforeMs: number,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {
    // A short lock: Agenda's lock timer for a run outlives it by half the lock's lifetime.
    scheduler.agenda.define(REMINDERS_JOB, () => this.remind(), { concurrency: 1, lockLimit: 1, lockLifetime: JOB_LOCK_MS });
  }

  async start(): Promise<void> {
    await this.scheduler.every(this.everyMs, REMINDERS_JOB);
  }

  private async remind(): Promise<void> {
    const written = await writeDueReminders(this.db, new Date(), this.reminderBeforeMs);
    if (written === 0) return;
    this.logger.info({ reminders: written }, "reminders to answer are due");
    this.relay.nudge();
  }
}
