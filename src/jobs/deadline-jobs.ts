import { setTimeout as sleep } from "node:timers/promises";
import type { Agenda } from "agenda";
import type { Logger } from "pino";
import { In, LessThanOrEqual, type DataSource } from "typeorm";
import type { JobsConfig } from "../config.js";
import { deadlineAction, statusesWithDeadline, type ReferralStatus } from "../referrals/lifecycle.js";
import { Referral } from "../referrals/referral.entity.js";
import type { ReferralService } from "../referrals/referral.service.js";
import type { Scheduler } from "./scheduler.js";

/** One referral's deadline: the status it lapses from, and when. */
interface DeadlineJobData {
  referralId: string;
  status: ReferralStatus;
  respondBy: string;
}

export const DEADLINE_JOB = "referral-deadline";
export const SWEEP_JOB = "referral-deadline-sweep";

/** The sweeper expires at most this many referrals per batch, and this many batches per run. */
export const SWEEP_BATCH_SIZE = 200;
const SWEEP_MAX_BATCHES = 50;

/**
 * How long a job stays locked to the instance that took it. A deadline takes milliseconds; the sweep
 * renews its lock after every batch. An instance that dies holding locks frees them after this.
 * Short, too, because Agenda checks a running job every half lifetime and waits out that check.
 */
const DEADLINE_LOCK_MS = 5_000;
const SWEEP_LOCK_MS = 10_000;

/** Deadlines come in bursts (an RFI's referrals share one); each expiry is one short transaction. */
const DEADLINE_CONCURRENCY = 20;

/**
 * Deadline expiry on Agenda. Each referral entering NEW or EVALUATING gets a job at its respondBy;
 * a recurring sweep expires whatever a lost job left overdue. Jobs run at least once, so every run
 * is a compare-and-set on the row (still in that status, deadline passed): running twice, late, or
 * after the partner answered changes nothing.
 */
export class DeadlineJobs {
  private keepSweepScheduled: NodeJS.Timeout | undefined;
  readonly agenda: Agenda;

  constructor(
    scheduler: Scheduler,
    private readonly db: DataSource,
    private readonly referrals: ReferralService,
    private readonly config: JobsConfig,
    private readonly logger: Logger,
  ) {
    this.agenda = scheduler.agenda;
    this.agenda.define<DeadlineJobData>(DEADLINE_JOB, (job) => this.expire(job.attrs.data), {
      lockLifetime: DEADLINE_LOCK_MS,
      concurrency: DEADLINE_CONCURRENCY,
    });
    this.agenda.define(SWEEP_JOB, async (job) => void (await this.sweep(new Date(), () => job.touch())), {
      concurrency: 1,
      lockLimit: 1,
      lockLifetime: SWEEP_LOCK_MS,
    });
  }

  /** Keeps the recurring sweep in the job store (which is not the source of truth and may be wiped). */
  async start(): Promise<void> {
    await this.scheduleSweep();
    this.keepSweepScheduled = setInterval(() => void this.scheduleSweep(), this.config.sweepEveryMs);
  }

  stop(): void {
    clearInterval(this.keepSweepScheduled);
  }

  /** Schedules the deadline of a referral that has one (NEW or EVALUATING), at its respondBy. */
  async schedule(referral: Referral): Promise<void> {
    if (referral.respondBy === null || deadlineAction(referral.status) === undefined) return;
    const data: DeadlineJobData = {
      referralId: referral.id,
      status: referral.status,
      respondBy: referral.respondBy.toISOString(),
    };
    await this.agenda.schedule(referral.respondBy, DEADLINE_JOB, data);
  }

  /** Expires every overdue referral, oldest deadline first, in bounded batches; `progress` after each. */
  async sweep(now = new Date(), progress: () => Promise<void> = async () => undefined): Promise<number> {
    let expired = 0;
    for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
      const overdue = await this.db.getRepository(Referral).find({
        select: { id: true, status: true },
        where: { status: In(statusesWithDeadline()), respondBy: LessThanOrEqual(now) },
        order: { respondBy: "ASC", id: "ASC" },
        take: SWEEP_BATCH_SIZE,
      });
      for (const { id, status } of overdue) {
        if (await this.referrals.expireIfOverdue(id, status, now)) expired++;
      }
      await progress();
      if (overdue.length < SWEEP_BATCH_SIZE) break;
    }
    if (expired > 0) this.logger.info({ expired }, "the sweep expired overdue referrals");
    return expired;
  }

  private async expire(data: DeadlineJobData): Promise<void> {
    // Timers may fire a hair early; the row's deadline is what counts.
    const early = new Date(data.respondBy).getTime() - Date.now();
    if (early > 0) await sleep(early);
    await this.referrals.expireIfOverdue(data.referralId, data.status);
  }

  private async scheduleSweep(): Promise<void> {
    try {
      await this.agenda.every(this.config.sweepEveryMs, SWEEP_JOB);
    } catch (err) {
      this.logger.error({ err }, "could not schedule the deadline sweep");
    }
  }
}
