import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { expect } from "chai";
import { createLogger } from "../../src/logging/logger.js";
import { guarded } from "../../src/logging/guarded.js";
import { startServing, type RunningProcess } from "../process/running.js";
import { GraphQLClient } from "../support/client.js";
import { ADMIN_KEY, useTestServer } from "../support/harness.js";
import { testDatabase } from "../support/database.js";
import { purgeNamespace, TEST_REDIS_URL } from "../support/redis.js";
import { eventually } from "../support/wait.js";
import { TcpProxy } from "../operations/tcp-proxy.js";

const FAILING_JOB = "always-fails";

/** The JSON log lines the process wrote so far, as they come. */
function watchLog(running: RunningProcess): () => { msg: string; [key: string]: unknown }[] {
  let written = "";
  running.child.stdout!.on("data", (chunk: string) => (written += chunk));
  return () =>
    written
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string });
}

/** Still running, answering /healthz and a GraphQL query. */
async function expectServing(running: RunningProcess): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) {
    const { code, signal, stderr } = await running.exited;
    expect.fail(`the process exited (${code ?? signal}):\n${stderr.slice(-2000)}`);
  }
  const health = await fetch(`http://127.0.0.1:${running.port}/healthz`);
  expect(health.status).to.equal(200);
  const { me } = await new GraphQLClient(`http://127.0.0.1:${running.port}/graphql`, ADMIN_KEY).data("{ me { role } }");
  expect(me).to.deep.equal({ role: "ADMIN" });
}

describe("jobs > failures and outages across instances", () => {
  // This process's instance; the other one is a real server process on the same job store.
  const server = useTestServer();
  let other: RunningProcess | undefined;

  afterEach(async () => {
    await other?.kill();
    other = undefined;
  });

  it("keeps another instance serving when a job fails on one (it logs the notice it heard)", async function () {
    this.timeout(60_000);
    other = await startServing({ ADMIN_API_KEY: ADMIN_KEY, JOBS_URL: TEST_REDIS_URL });
    const log = watchLog(other);
    const { agenda } = server.current.scheduler;
    // A short lock: Agenda checks on a running job every half lock lifetime, with a timer that would keep this process alive.
    agenda.define(
      FAILING_JOB,
      async () => {
        throw new Error("this job fails on purpose");
      },
      { lockLifetime: 1000 },
    );
    const failed = new Promise((resolve) => agenda.once(`fail:${FAILING_JOB}`, resolve));
    await agenda.now(FAILING_JOB);
    await failed;

    const notices = () => log().filter((line) => line.msg === "a job failed on another instance");
    await eventually(
      "the other instance hears of the failure, or exits",
      async () => notices().length > 0 || other!.child.exitCode !== null,
    );
    await expectServing(other);
    const [notice] = notices();
    expect(notice).to.include({ job: FAILING_JOB, failCount: 1 });
    expect(notice.instance).to.be.a("string").and.not.equal("");
    expect(JSON.stringify(notice), "the failure's message may quote data: it stays in the failing instance's log").not.to.include(
      "on purpose",
    );
  });

  it("keeps serving through a job store outage, and is ready again after it", async function () {
    this.timeout(60_000);
    const redis = new URL(TEST_REDIS_URL);
    const proxy = await TcpProxy.start(Number(redis.port || 6379), redis.hostname);
    try {
      other = await startServing({ ADMIN_API_KEY: ADMIN_KEY, JOBS_URL: `redis://127.0.0.1:${proxy.port}` });
      const log = watchLog(other);
      proxy.refuse();
      // The job channel's subscriber reconnects, and fails, every 200 ms to 2 s.
      await eventually(
        "the job channel reports the outage, or the process exits",
        async () => log().some((line) => line.msg === "job store channel error") || other!.child.exitCode !== null,
        20_000,
      );
      await expectServing(other);
      proxy.restore();
      await eventually(
        "the job store answers again",
        async () => (await fetch(`http://127.0.0.1:${other!.port}/readyz`)).status === 200,
        20_000,
      );
      await expectServing(other);
    } finally {
      await other?.kill();
      await proxy.close();
    }
  });

  it("removes a one-time job that failed from the job store (the sweeps catch its work up): failed jobs do not pile up", async () => {
    const { agenda } = server.current.scheduler;
    const name = `${FAILING_JOB}-once`;
    agenda.define(
      name,
      async () => {
        throw new Error("this job fails on purpose");
      },
      { lockLifetime: 1000 },
    );
    const failed = new Promise((resolve) => agenda.once(`fail:${name}`, resolve));
    await agenda.now(name);
    await failed;
    await eventually("the failed job is gone from the store", async () => (await agenda.db.queryJobs({ name })).jobs.length === 0, 5000);
    // A recurring job that fails stays: it runs again at its next time.
    const recurring = `${FAILING_JOB}-every`;
    agenda.define(
      recurring,
      async () => {
        throw new Error("this job fails on purpose");
      },
      { lockLifetime: 1000 },
    );
    const failedAgain = new Promise((resolve) => agenda.once(`fail:${recurring}`, resolve));
    // It runs at once, then every hour.
    await agenda.every("1 hour", recurring);
    await failedAgain;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await agenda.db.queryJobs({ name: recurring })).jobs.length).to.be.at.least(1);
    await agenda.cancel({ name: recurring });
  });

  it("writes its recurring jobs to the job store again when the store lost them (a Redis restarted empty)", async function () {
    this.timeout(30_000);
    const recurring = ["outbox-relay", "referral-deadline-sweep", "response-reminders", "retention"];
    const stored = async () => {
      const { jobs } = await server.current.scheduler.agenda.db.queryJobs({});
      return [...new Set(jobs.map((job) => job.name))].filter((name) => recurring.includes(name)).sort();
    };
    expect(await stored()).to.deep.equal(recurring);
    await purgeNamespace(testDatabase.database);
    expect(await stored()).to.deep.equal([]);
    await eventually("every recurring job is back in the store", async () => (await stored()).length === recurring.length, 20_000);
  });
});

describe("jobs > listeners of libraries' events", () => {
  it("logs what a guarded listener throws or rejects with, and lets the emitter go on", async () => {
    const lines: { msg: string; err?: { message?: string } }[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = createLogger({ logLevel: "info" }, stream);
    const emitter = new EventEmitter();
    let heard = 0;
    emitter.on(
      "fail",
      guarded(logger, "fail", (job: { attrs: { name: string } }) => job.attrs.name),
    );
    emitter.on(
      "fail",
      guarded(logger, "fail", async () => {
        throw new Error("rejected");
      }),
    );
    emitter.on("fail", () => (heard += 1));

    expect(() => emitter.emit("fail", {})).not.to.throw();
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard, "the listeners after a failed one still run").to.equal(1);
    expect(lines.map((line) => [line.msg, line.err?.message])).to.deep.equal([
      ["the listener of fail failed", "Cannot read properties of undefined (reading 'name')"],
      ["the listener of fail failed", "rejected"],
    ]);
  });
});
