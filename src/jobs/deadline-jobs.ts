import { setTimeout as sleep } from "node:timers/promises";
import type { Agenda, Job } from "agenda";
import type { Logger } from "pino";
import type { JobsConfig } from "../config/index.js";
import { deadlineAction } from "../referrals/lifecycle.js";
import type { Transition } from "../referrals/index.js";
import type { ReferralExpiry } from "../referrals/index.js";
import type { Scheduler } from "./scheduler.js";

/** A due instant: at this second (ISO), everything due by then expires. */
interface DeadlinesDueData {
  dueAt: string;
}

export const DEADLINES_DUE_JOB = "referral-deadlines-due";
export const SWEEP_JOB = "referral-deadline-sweep";

/** Deadlines are grouped by the second they fall in: at most one job per second, whatever the referrals. */
const SLOT_MS = 1000;
/** How long a job stays locked to the instance that took it; renewed after every batch. */
const DEADLINES_LOCK_MS = 10_000;
/** Claims of due seconds outlive their second by this much, then leave the store (Redis expiry, MongoDB TTL index). */
const CLAIM_MARGIN_MS = 3_600_000;

export function dueSecondOf(respondBy: Date): Date {
  return new Date(Math.ceil(respondBy.getTime() / SLOT_MS) * SLOT_MS);
}

/**
 * Deadline expiry on Agenda. Deadlines are grouped by the second they fall in: one job per due
 * second (claimed in the job store, so that several instances schedule it once), whose run expires
 * everything due by then (ReferralExpiry, in batches). Jobs are planned only for the seconds within
 * the horizon (twice EXPIRY_SWEEP_EVERY): by the sweep, which runs at start and then every
 * EXPIRY_SWEEP_EVERY, expires whatever is overdue and plans the next horizon; and by a change whose
 * new deadline already falls within it. So the store holds at most one job per second of the horizon
 * (120 by default), whatever the number of open referrals. Jobs run at least once; the rows decide,
 * so running twice, late, or beside a partner's answer changes nothing twice.
 */
export class DeadlineJobs {
  readonly agenda: Agenda;
  /** Due seconds this instance has seen claimed, until they pass: no round trip to the store for them. */
  private readonly claimed = new Set<number>();
  private stopping = false;
  private sweeping: Promise<number> | undefined;
  private startSweep: Promise<unknown> = Promise.resolve();
  /** Runs a sweep with what it tells the outside world held back (the outbox, the change feed); by default, just runs it. */
  private holdingDeliveries: <T>(work: () => Promise<T>) => Promise<T> = (work) => work();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly expiry: ReferralExpiry,
    private readonly config: JobsConfig,
    private readonly logger: Logger,
  ) {
    this.agenda = scheduler.agenda;
    this.agenda.define<DeadlinesDueData>(DEADLINES_DUE_JOB, (job) => this.expireDue(job), {
      lockLifetime: DEADLINES_LOCK_MS,
      concurrency: 2,
    });
    this.agenda.define(SWEEP_JOB, async (job) => void (await this.sweep(() => job.touch())), {
      concurrency: 1,
      lockLimit: 1,
      lockLifetime: DEADLINES_LOCK_MS,
    });
  }

  /** Sweeps at once (in the background: a backlog left by a stopped server), then keeps the recurring sweep in the store. */
  async start(): Promise<void> {
    this.startSweep = this.sweep().catch((err) => this.logger.error({ err }, "the start sweep failed"));
    await this.scheduler.every(this.config.sweepEveryMs, SWEEP_JOB);
  }

  /** Stops sweeping at the end of the current batch; Agenda's drain (Scheduler.stop) waits for running jobs. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.startSweep;
  }

  /** A CommittedTransitions listener: a new deadline within the horizon makes its second due (the sweep plans later ones). */
  async schedule(transitions: readonly Transition[]): Promise<void> {
    const horizon = Date.now() + this.horizonMs;
    const seconds = new Set<number>();
    for (const { referral } of transitions) {
      if (referral.respondBy === null || deadlineAction(referral.status) === undefined || referral.respondBy.getTime() > horizon) continue;
      seconds.add(dueSecondOf(referral.respondBy).getTime());
    }
    for (const second of seconds) await this.scheduleSecond(new Date(second));
  }

  /**
   * Expires every overdue referral, in batches (`progress` after each), then plans the horizon's due
   * seconds. Answers how many expired. One sweep at a time per instance: a second call shares the first.
   */
  sweep(progress: () => Promise<void> = async () => undefined): Promise<number> {
    this.sweeping ??= this.sweepNow(progress).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** A backlog's sweep runs first, its e-mails, webhooks and change feed after: sending them meanwhile slows it down. */
  holdDeliveriesWith(holding: <T>(work: () => Promise<T>) => Promise<T>): void {
    this.holdingDeliveries = holding;
  }

  private async sweepNow(progress: () => Promise<void>): Promise<number> {
    const now = new Date();
    const expired = await this.holdingDeliveries(() =>
      this.expiry.expireDue(now, async () => {
        await progress();
        return !this.stopping;
      }),
    );
    if (expired > 0) this.logger.info({ expired }, "the sweep expired overdue referrals");
    if (!this.stopping) {
      for (const second of await this.expiry.dueSecondsBetween(now, new Date(now.getTime() + this.horizonMs))) {
        await this.scheduleSecond(second);
      }
    }
    return expired;
  }

  /** How far ahead due seconds get their job. */
  private get horizonMs(): number {
    return 2 * this.config.sweepEveryMs;
  }

  /** One job for the second, from whichever instance claims it first. */
  private async scheduleSecond(due: Date): Promise<void> {
    const now = Date.now();
    for (const second of this.claimed) if (second < now) this.claimed.delete(second);
    if (this.claimed.has(due.getTime())) return;
    const claim = await this.scheduler.store.claimOnce(`deadlines-due:${due.toISOString()}`, new Date(due.getTime() + CLAIM_MARGIN_MS));
    this.claimed.add(due.getTime());
    // Lost between the claim and the job (a crash, the store down): the next sweep expires that second's referrals.
    if (claim) await this.agenda.schedule<DeadlinesDueData>(due, DEADLINES_DUE_JOB, { dueAt: due.toISOString() });
  }

  private async expireDue(job: Job<DeadlinesDueData>): Promise<void> {
    // Timers may fire a hair early; the rows' deadlines are what counts.
    const early = new Date(job.attrs.data.dueAt).getTime() - Date.now();
    if (early > 0) await sleep(early);
    await this.expiry.expireDue(new Date(), async () => {
      await job.touch();
      return !this.stopping;
    });
  }
}
