import type { Logger } from "pino";
import { teachesFit, type FitScores } from "../analytics/fit-scores.js";
import type { ReferralChange } from "../referrals/referral-changes.js";
import type { Scheduler } from "./scheduler.js";

export const FIT_RESCORE_JOB = "fit-rescore";

/** Decisions of one partner within this window share one rescoring run. */
export const RESCORE_COALESCE_MS = 1000;
/** A run renews its Agenda lock after every chunk of referrals. */
const RESCORE_LOCK_MS = 30_000;
const RESCORE_CONCURRENCY = 2;
/** Another instance, its clock a little ahead, may start a job this much before it is due here. */
const CLOCK_SKEW_MS = 250;

interface FitRescoreData {
  partnerId: string;
}

/**
 * Rescoring a partner's open referrals after its decisions, off the request path: a decision
 * schedules one job per partner a moment later (decisions meanwhile ride along), and the job
 * rescores from the partner's counters (FitScores.rescorePartner, which also keeps two instances
 * from rescoring one partner at once, and runs again for decisions that came in meanwhile). The
 * store holds at most one waiting job per partner (and the one running): while one waits, a decision
 * adds none, so jobs cannot pile up when rescoring falls behind. Scores lagging behind their counters
 * (a job lost with the job store) are caught up every `catchUpEveryMs` and at start.
 */
export class FitRescoreJobs {
  /** When each partner's waiting job is due: a decision well before then needs no new job. */
  private readonly due = new Map<string, number>();
  /** A save in progress per partner: a decision meanwhile waits for it, then looks at `due` again. */
  private readonly saving = new Map<string, Promise<void>>();
  private catchingUp: NodeJS.Timeout | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly fitScores: FitScores,
    private readonly catchUpEveryMs: number,
    private readonly logger: Logger,
  ) {
    scheduler.agenda.define<FitRescoreData>(
      FIT_RESCORE_JOB,
      async (job) => void (await fitScores.rescorePartner(job.attrs.data.partnerId, () => job.touch())),
      { lockLifetime: RESCORE_LOCK_MS, concurrency: RESCORE_CONCURRENCY },
    );
  }

  start(): void {
    void this.catchUp();
    this.catchingUp = setInterval(() => void this.catchUp(), this.catchUpEveryMs);
  }

  stop(): void {
    clearInterval(this.catchingUp);
  }

  /** A ReferralChanges listener: a decision makes the partner's other open referrals due for rescoring. */
  async afterChanges(changes: readonly ReferralChange[]): Promise<void> {
    const partners = new Set(changes.filter(teachesFit).map(({ referral }) => referral.partnerId));
    for (const partnerId of partners) await this.rescoreSoon(partnerId);
  }

  private async rescoreSoon(partnerId: string): Promise<void> {
    for (;;) {
      if ((this.due.get(partnerId) ?? 0) > Date.now() + CLOCK_SKEW_MS) return;
      const saving = this.saving.get(partnerId);
      if (saving === undefined) break;
      await saving;
    }
    const saving = this.schedule(partnerId).finally(() => this.saving.delete(partnerId));
    this.saving.set(partnerId, saving);
    await saving;
  }

  /**
   * Saves the partner's waiting job, or finds the one already waiting, which may be due already (a
   * busy store runs it late): a decision may then count on it only until it is due.
   */
  private async schedule(partnerId: string): Promise<void> {
    const now = Date.now();
    for (const [partner, at] of this.due) if (at <= now) this.due.delete(partner);
    const job = await this.scheduler.agenda
      .create<FitRescoreData>(FIT_RESCORE_JOB, { partnerId })
      // Matched against a job that has not started (no lastRunAt): one that runs may have looked for news already.
      .unique({ "data.partnerId": partnerId, lastRunAt: null }, { insertOnly: true })
      .schedule(new Date(now + RESCORE_COALESCE_MS))
      .save();
    this.due.set(partnerId, job.attrs.nextRunAt?.getTime() ?? 0);
  }

  private async catchUp(): Promise<void> {
    try {
      for (const partnerId of await this.fitScores.partnersBehind()) await this.rescoreSoon(partnerId);
    } catch (err) {
      this.logger.error({ err }, "could not look for partners whose fit scores lag behind");
    }
  }
}
