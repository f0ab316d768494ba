import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { Agenda, type Job, type JobStateNotification } from "agenda";
import type { Logger } from "pino";
import type { JobsConfig } from "../config/index.js";
import { guarded } from "../logging/guarded.js";
import { connectJobStore, type JobStore } from "./job-store.js";

/** How often recurring jobs are written to the store again: a store wiped meanwhile has them back within this. */
const RECURRING_CHECK_MS = 10_000;

/**
 * Agenda on the job store of JOBS_URL, shared by every kind of job (deadlines, fit rescoring). Jobs
 * run at least once, on any instance: each handler is idempotent, and the database row decides.
 * Connect, let each kind of job define itself on `agenda`, then start.
 */
export class Scheduler {
  /** Recurring jobs and their intervals, kept in the store (`every`). */
  private readonly recurring = new Map<string, number>();
  private keeping: NodeJS.Timeout | undefined;

  private constructor(
    readonly agenda: Agenda,
    readonly store: JobStore,
    private readonly logger: Logger,
  ) {}

  static async connect(config: JobsConfig, logger: Logger): Promise<Scheduler> {
    const store = await connectJobStore(config, logger);
    const agenda = new Agenda({
      backend: store.backend,
      name: `${hostname()}:${process.pid}`,
      processEvery: config.processEveryMs,
      removeOnComplete: true,
    });
    agenda.on(
      "error",
      guarded(logger, "Agenda's error", (err: Error) => logger.error({ err }, "job store error")),
    );
    agenda.on("fail", guarded(logger, "Agenda's fail", failureLogger(logger)));
    agenda.on("complete", guarded(logger, "Agenda's complete", removeFailedOnce));
    return new Scheduler(agenda, store, logger);
  }

  async start(): Promise<void> {
    await this.agenda.start();
    this.keeping = setInterval(() => void this.keepRecurring(), RECURRING_CHECK_MS);
    this.keeping.unref();
  }

  /**
   * Runs job `name` every `intervalMs` on one instance at a time. The job store is not the source of
   * truth and may be wiped (a Redis restarted without persistence loses every job): the job is written
   * to it again every RECURRING_CHECK_MS, which keeps its next run when it is still there.
   */
  async every(intervalMs: number, name: string): Promise<void> {
    this.recurring.set(name, intervalMs);
    await this.agenda.every(intervalMs, name);
  }

  private async keepRecurring(): Promise<void> {
    for (const [name, intervalMs] of this.recurring) {
      try {
        await this.agenda.every(intervalMs, name);
      } catch (err) {
        this.logger.warn({ err, job: name }, "could not keep a recurring job in the job store; tried again soon");
      }
    }
  }

  /** Stops taking jobs, lets running ones finish (Agenda's drain), then closes the job store. */
  async stop(): Promise<void> {
    clearInterval(this.keeping);
    const abort = new AbortController();
    const drained = this.agenda.drain({ signal: abort.signal, closeConnection: false });
    // Agenda 6.2.6's drain can miss the end of a job that removes itself on completion and wait
    // forever: watch the running jobs here, and end the drain once none is left.
    while (this.agenda.isActiveJobProcessor() && (await this.agenda.getRunningStats()).runningJobs !== 0) {
      await sleep(20);
    }
    abort.abort();
    await drained;
    await this.store.close();
  }
}

/**
 * Removes a one-time job that failed (Agenda removes only those that succeed). Its work is not lost:
 * the recurring sweeps catch it up (overdue referrals, fit scores lagging behind their counters), the
 * rows being the truth. Kept, failed jobs would pile up, and the Redis store reads every job of a name
 * each time it looks for one to run: under load, the store itself would become the bottleneck.
 */
function removeFailedOnce(job: Job | JobStateNotification | undefined): Promise<unknown> | undefined {
  const attrs = (job as Job | undefined)?.attrs;
  if (!attrs?.failedAt || attrs.nextRunAt != null || attrs.repeatInterval) return undefined;
  return (job as Job).remove();
}

/**
 * Agenda emits `fail` for this instance's own jobs (the error and the job), and again, with `remote`
 * true, for every other instance's failure it hears of on the job store's channel: then it gives only
 * the notice (no `attrs`), and the error's message as text. That message may quote a statement's
 * values, so it is not logged here: the failing instance logged the error itself, safely.
 */
function failureLogger(logger: Logger) {
  return (err: unknown, job: Job | JobStateNotification | undefined, remote?: boolean) => {
    const attrs = (job as Job | undefined)?.attrs;
    if (remote === true || attrs === undefined) {
      const { jobName, jobId, failCount, source } = (job ?? {}) as Partial<JobStateNotification>;
      logger.info({ job: jobName, jobId, failCount, instance: source }, "a job failed on another instance");
      return;
    }
    logger.error({ err, job: attrs.name, data: attrs.data }, "job failed");
  };
}
