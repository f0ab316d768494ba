import { expect } from "chai";
import { FIT_RESCORE_JOB } from "../../src/jobs/fit-jobs.js";
import type { TestServer } from "./harness.js";

/**
 * Polls until `check` holds (it should be cheap), or fails after `timeoutMs`; `explain` then says
 * what was seen, for a failure in CI that does not come back on a desk.
 */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  explain?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) expect.fail(`timed out waiting until ${what}${explain ? `: ${await explain()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until every partner's scores reflect its counters and no rescoring runs: the database says so
 * (a job left in the store by a stopped server may name a partner that is long settled).
 */
export async function fitScoresSettled(server: TestServer, timeoutMs = 10_000): Promise<void> {
  // New referrals and changed estimates are scored off the request path, queued on this server.
  await server.fitScores.settled();
  await eventually(
    "the fit scores are rescored",
    async () => {
      const [{ running }] = await server.db.query("SELECT COUNT(*) AS running FROM fit_rescoring WHERE leased_until > NOW(3)");
      if (Number(running) !== 0 || (await server.fitScores.partnersBehind()).length !== 0) return false;
      // A decision's rescoring job, due a moment after it, may still be ahead.
      const { jobs } = await server.scheduler.agenda.queryJobs({ name: FIT_RESCORE_JOB });
      return jobs.every(({ state }) => state === "completed" || state === "failed");
    },
    timeoutMs,
    async () => {
      const leases = await server.db.query("SELECT partner_id, scored_revision, leased_until FROM fit_rescoring");
      const { jobs } = await server.scheduler.agenda.queryJobs({ name: FIT_RESCORE_JOB });
      const seen = jobs.map(({ state, data, nextRunAt, lastRunAt, failReason }) => ({ state, data, nextRunAt, lastRunAt, failReason }));
      return JSON.stringify({ behind: await server.fitScores.partnersBehind(), leases, jobs: seen });
    },
  );
}
