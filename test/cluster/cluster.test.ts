import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { killInstance, restartRedis } from "../support/cluster/faults.js";
import { runCluster, type ClusterRun } from "../support/cluster/run.js";
import { testDatabase } from "../support/database.js";

/**
 * bench/cluster.ts in small: two instances (clients take them in turn), a light load all the way through
 * (RFIs, decisions, deadlines, sockets, CRMs, dashboards, webhooks, e-mails), one SIGKILL and one Redis
 * restart, then the benchmark's invariants. A run shorter than the outbox's two-minute lease cannot
 * wait for what the killed instance held: those messages may still be pending, and are reported.
 */
describe("cluster > two instances under load, through a SIGKILL and a Redis restart", function () {
  this.timeout(150_000);
  let run: ClusterRun;

  before(async function () {
    this.timeout(150_000);
    run = await runCluster({
      instances: 2,
      partners: 6,
      socketsPerPartner: 4,
      load: { rfisPerSecond: 3, decisionDelayMs: [300, 2000], giveUpMs: 60_000 },
      listReadsPerSecond: 2,
      pollEveryMs: 1000,
      timings: {
        newWindowMs: 6000,
        evaluationWindowMs: 10_000,
        sweepEveryMs: 2000,
        reminderBeforeMs: 3000,
        retrySchedule: "1s,2s,5s,10s,20s,30s,30s",
      },
      loadMs: 35_000,
      schedule: ([, second]) => [
        { atMs: 8000, name: "SIGKILL", run: killInstance(second, 5000) },
        { atMs: 20_000, name: "Redis restart", run: restartRedis() },
      ],
      database: `${testDatabase.database}_cluster`,
      excuseHeld: true,
      deadlinesDrainMs: 30_000,
      outboxDrainMs: 20_000,
      logDir: mkdtempSync(join(tmpdir(), "cluster-test-")),
    });
  });

  const holds = (name: string) => () => {
    const check = run.checks.find((found) => found.name === name);
    expect(check, `no check named "${name}"`).to.not.equal(undefined);
    expect(check!.pass, check!.detail.join("\n")).to.equal(true);
  };

  it("ran its faults and settled", () => {
    expect(run.faults.kills, "the SIGKILL").to.have.length(1);
    expect(run.faults.steps.map((step) => step.what)).to.include("Redis started again (empty)");
    expect(run.unsettled, run.held.join("\n")).to.deep.equal([]);
  });
  it("answers every submitRfi with success or a retryable error", holds("every submitRfi answered with success or a retryable error"));
  it("never makes two RFIs of one idempotency key", holds("no idempotency key made two RFIs"));
  it(
    "answers decisions, list reads and feed polls with success or a retryable error",
    holds("decisions, list reads and feed polls answered with success or a retryable error"),
  );
  it(
    "gives the whole event table, in order, to a feed read from the start",
    holds("the feed read from the start equals the event table, in order, no repeats"),
  );
  it("gives each CRM exactly its partner's feed", holds("each integrator's referralChanges equal its partner's feed"));
  it(
    "gives each socket its partner's feed across reconnections",
    holds("each socket's cursors, joined across reconnections, equal its partner's feed"),
  );
  it(
    "delivers every change to its partner's receiver",
    holds("every receiver got every change of its partner, one body per webhook-id, nothing left pending"),
  );
  it("sends every e-mail that is due", holds("every e-mail that was due was sent (all SUCCEEDED, each Message-ID received)"));
  it(
    "receives no message twice but those in flight at the SIGKILL",
    holds("no webhook-id or Message-ID received twice (except in flight at a SIGKILL)"),
  );
  it("expires every overdue referral exactly once", holds("every overdue referral expired exactly once"));
  it("keeps every instance up but the one killed", holds("no instance exited on its own"));
});
