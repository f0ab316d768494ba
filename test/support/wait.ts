import { expect } from "chai";
import { FIT_RESCORE_JOB } from "../../src/jobs/fit-jobs.js";
import type { TestServer } from "./harness.js";

/** Polls until `check` holds (it should be cheap), or fails after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) expect.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until no fit rescoring is due or running and every partner's scores reflect its counters. */
export async function fitScoresSettled(server: TestServer, timeoutMs = 10_000): Promise<void> {
  await eventually(
    "the fit scores are rescored",
    async () =>
      (await server.scheduler.agenda.db.queryJobs({ name: FIT_RESCORE_JOB })).total === 0 &&
      (await server.fitScores.partnersBehind()).length === 0,
    timeoutMs,
  );
}
