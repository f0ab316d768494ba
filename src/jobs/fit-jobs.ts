import type { Logger } from "pino";
import { teachesFit, type FitScores } from "../analytics/index.js";
import type { Transition } from "../referrals/index.js";
import type { Scheduler } from "./scheduler.js";

export const FIT_RESCORE_JOB = "fit-rescore";

/** Decisions of one partner within this window share one rescoring run. */
export const RESCORE_COALESCE_MS = 1000;
/** A run renews its Agenda lock after every chunk of referrals. */
const RESCORE_LOCK_MS = 30_000;
const RESCORE_CONCURRENCY = 2;
/** The longest a decision's rescoring may wait for the catch-up, when its job was missed. */
export const CATCH_UP_MS = 5000;

interface FitRescoreData {
  partnerId: string;
}

/**
 * Rescoring a partner's open referrals after its decisions, off the request path: a decision
 * schedules one job per partner a moment later (decisions meanwhile ride along), and the job
 * rescores from the partner's counters (FitScores.rescorePartner, which also keeps two instances
 * from rescoring one partner at once, and runs again for decisions that came in meanwhile). The
 * store holds at most one job per partner: while one waits or runs, a decision adds none, so jobs
 * cannot pile up when rescoring falls behind. Scores lagging behind their counters (a job lost with
 * the job store, a decision just after its partner's run looked for news, or while the job store ran
 * its job late) are caught up at start and every `catchUpEveryMs`, at most CATCH_UP_MS. That one
 * indexed read per instance is what lets a decision add no job and no job-store scan while its
 * partner's job waits or runs (Agenda's `unique` reads every job of the name on Redis).
 */
export class FitRescoreJobs {
  /** Partners with a run due soon from this instance, and when: a decision before then needs no new job. */
  private readonly due = new Map<string, number>();
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
    this.catchingUp = setInterval(() => void this.catchUp(), Math.min(this.catchUpEveryMs, CATCH_UP_MS));
  }

  stop(): void {
    clearInterval(this.catchingUp);
  }

  /** A CommittedTransitions listener: a decision makes the partner's other open referrals due for rescoring. */
  async afterTransitions(transitions: readonly Transition[]): Promise<void> {
    const partners = new Set(transitions.filter(teachesFit).map(({ referral }) => referral.partnerId));
    for (const partnerId of partners) await this.rescoreSoon(partnerId);
  }

  private async rescoreSoon(partnerId: string): Promise<void> {
    const now = Date.now();
    if ((this.due.get(partnerId) ?? 0) > now) return;
    for (const [partner, at] of this.due) if (at <= now) this.due.delete(partner);
    const at = now + RESCORE_COALESCE_MS;
    this.due.set(partnerId, at);
    await this.scheduler.agenda
      .create<FitRescoreData>(FIT_RESCORE_JOB, { partnerId })
      .unique({ "data.partnerId": partnerId }, { insertOnly: true })
      .schedule(new Date(at))
      .save();
  }

  private async catchUp(): Promise<void> {
    try {
      for (const partnerId of await this.fitScores.partnersBehind()) await this.rescoreSoon(partnerId);
    } catch (err) {
      this.logger.error({ err }, "could not look for partners whose fit scores lag behind");
    }
  }
}
