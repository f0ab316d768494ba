import { expect } from "chai";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import { DEADLINES_DUE_JOB, dueSecondOf, SWEEP_JOB } from "../../src/jobs/deadline-jobs.js";
import { UnreachableServiceError } from "../../src/redis/connect.js";
import { EXPIRY_BATCH_SIZE } from "../../src/referrals/referral-expiry.js";
import { dropTestDatabase, TEST_DATABASE_URL, testDatabase } from "../support/database.js";
import { createPartner, insertOverdue, newReferral, submitRfi, type TestPartner } from "../support/fixtures.js";
import { startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { purgeNamespace, TEST_REDIS_URL } from "../support/redis.js";
import { eventually } from "../support/wait.js";

/** Deadlines of seconds, so that a test sees them pass; the sweep is rare unless a test wants it. */
const SHORT_WINDOWS = { NEW_REFERRAL_RESPONSE_WINDOW: "2s", EVALUATION_WINDOW: "3s", EXPIRY_SWEEP_EVERY: "1h" };

/**
 * How late after its deadline a referral may expire when its due job does it: the due second's
 * rounding (under 1 s), plus room for a job run on a loaded two-core CI machine. The sweep, the
 * only other way to expire, is an hour away here, so anything within this came from the due job.
 */
const DUE_JOB_LATENESS_MS = 3000;

interface EventRow {
  action: string;
  from: string | null;
  to: string;
  actor: string;
  at: Date;
}

async function eventsOf(server: TestServer, referralId: string): Promise<EventRow[]> {
  return server.db.query(
    "SELECT action, from_status AS `from`, to_status AS `to`, actor, at FROM referral_events WHERE referral_id = ? ORDER BY id",
    [referralId],
  );
}

async function rowOf(server: TestServer, referralId: string) {
  const [row] = await server.db.query(
    "SELECT status, version, respond_by AS respondBy, received_at AS receivedAt, closed_at AS closedAt FROM referrals WHERE id = ?",
    [referralId],
  );
  return row as { status: string; version: number; respondBy: Date | null; receivedAt: Date; closedAt: Date | null };
}

async function statusesOf(server: TestServer, ids: string[]): Promise<Map<string, string>> {
  const rows: { id: string; status: string }[] = await server.db.query(
    "SELECT CAST(id AS CHAR) AS id, status FROM referrals WHERE id IN (?)",
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.status]));
}

async function allIn(server: TestServer, ids: string[], status: string): Promise<boolean> {
  return [...(await statusesOf(server, ids)).values()].every((current) => current === status);
}

/** Counts of each action among the events of the given referrals, per referral. */
async function actionsPerReferral(server: TestServer, ids: string[]): Promise<Map<string, string[]>> {
  const rows: { id: string; action: string }[] = await server.db.query(
    "SELECT CAST(e.referral_id AS CHAR) AS id, e.action FROM referral_events e WHERE e.referral_id IN (?) ORDER BY e.id",
    [ids],
  );
  const actions = new Map(ids.map((id) => [id, [] as string[]]));
  for (const row of rows) actions.get(row.id)!.push(row.action);
  return actions;
}

/** The `lockedAtMs` of each job for the second a deadline falls in, read straight from the Redis job store. */
async function dueJobLocks(respondBy: Date): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const locks: string[] = [];
    for await (const keys of redis.scanStream({ match: `${testDatabase.database}:agenda:job:*`, count: 500 })) {
      for (const key of keys as string[]) {
        const job = await redis.hgetall(key);
        if (job.name === DEADLINES_DUE_JOB && JSON.parse(job.data).dueAt === dueSecondOf(respondBy).toISOString())
          locks.push(job.lockedAtMs);
      }
    }
    return locks;
  } finally {
    redis.disconnect();
  }
}

/** The due seconds the job store holds jobs for. */
async function dueJobs(server: TestServer): Promise<string[]> {
  const { jobs } = await server.deadlines.agenda.db.queryJobs({ name: DEADLINES_DUE_JOB });
  return jobs.map((job) => (job.data as { dueAt: string }).dueAt);
}

describe("jobs > deadline expiry", () => {
  const server = useTestServer(SHORT_WINDOWS);
  let partner: TestPartner;

  before(async () => {
    partner = await createPartner(server.current);
  });

  it("turns a NEW referral into MISSED shortly after its deadline, with one event by 'system'", async () => {
    const id = await newReferral(server.current, partner);
    const fresh = await rowOf(server.current, id);
    expect(fresh.respondBy!.getTime() - fresh.receivedAt.getTime()).to.equal(2000);

    await eventually("the referral is MISSED", async () => (await rowOf(server.current, id)).status === "MISSED", 8000);
    const missed = await rowOf(server.current, id);
    expect(missed).to.deep.include({ status: "MISSED", version: 2, respondBy: null });
    const events = await eventsOf(server.current, id);
    expect(events.map(({ action, from, to, actor }) => ({ action, from, to, actor }))).to.deep.equal([
      { action: "RECEIVE", from: null, to: "NEW", actor: "ADMIN_API_KEY" },
      { action: "MISS", from: "NEW", to: "MISSED", actor: "system" },
    ]);
    const lateness = events[1].at.getTime() - fresh.respondBy!.getTime();
    expect(lateness).to.be.within(0, DUE_JOB_LATENESS_MS);
    expect(missed.closedAt!.getTime()).to.equal(events[1].at.getTime());

    const { referral } = await partner.api.data(`query($id: ID!) { referral(id: $id) { status archived customer { email } } }`, { id });
    expect(referral).to.deep.equal({ status: "MISSED", archived: true, customer: null });
  });

  it("turns an EVALUATING referral into EXPIRED at the end of the evaluation window", async () => {
    const id = await newReferral(server.current, partner);
    const { expressInterest } = await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { respondBy } }`, { id });
    const respondBy = new Date(expressInterest.respondBy).getTime();

    await eventually("the referral is EXPIRED", async () => (await rowOf(server.current, id)).status === "EXPIRED", 8000);
    const events = await eventsOf(server.current, id);
    expect(events.map((event) => `${event.action} ${event.from}->${event.to} by ${event.actor}`)).to.deep.equal([
      "RECEIVE null->NEW by ADMIN_API_KEY",
      `EXPRESS_INTEREST NEW->EVALUATING by ${partner.name} (first key)`,
      "EXPIRE EVALUATING->EXPIRED by system",
    ]);
    expect(events[2].at.getTime() - respondBy).to.be.within(0, DUE_JOB_LATENESS_MS);
    const { referral } = await partner.api.data(`query($id: ID!) { referral(id: $id) { status respondBy customer { email } } }`, { id });
    expect(referral).to.deep.equal({ status: "EXPIRED", respondBy: null, customer: { email: "ann@fabrikam.example" } });
  });

  it("never expires a referral the partner answered in time", async () => {
    const ignored = await newReferral(server.current, partner);
    const negotiating = await newReferral(server.current, partner);
    await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: ignored });
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: negotiating });
    await partner.api.data(
      `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "2099-01-01" }) { id } }`,
      { id: negotiating },
    );
    // Past both deadlines (2 s from arrival, 3 s from interest), with room for a late job.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect((await rowOf(server.current, ignored)).status).to.equal("IGNORED");
    expect((await rowOf(server.current, negotiating)).status).to.equal("NEGOTIATING");
    expect((await eventsOf(server.current, ignored)).map((event) => event.action)).to.deep.equal(["RECEIVE", "IGNORE"]);
    expect((await eventsOf(server.current, negotiating)).map((event) => event.action)).to.deep.equal([
      "RECEIVE",
      "EXPRESS_INTEREST",
      "ACCEPT",
    ]);
  });

  it("changes nothing and records nothing when a deadline job runs again", async () => {
    const id = await newReferral(server.current, partner);
    await eventually("the referral is MISSED", async () => (await rowOf(server.current, id)).status === "MISSED", 8000);
    const before = { row: await rowOf(server.current, id), events: await eventsOf(server.current, id) };

    const { agenda } = server.current.deadlines;
    const data = { dueAt: dueSecondOf(before.row.closedAt!).toISOString() };
    const ran = new Promise<void>((resolve) => {
      let runs = 0;
      agenda.on(`complete:${DEADLINES_DUE_JOB}`, function counted() {
        if (++runs === 2) {
          agenda.off(`complete:${DEADLINES_DUE_JOB}`, counted);
          resolve();
        }
      });
    });
    await agenda.now(DEADLINES_DUE_JOB, data);
    await agenda.now(DEADLINES_DUE_JOB, data);
    await ran;
    expect(await server.current.deadlines.sweep()).to.equal(0);
    expect({ row: await rowOf(server.current, id), events: await eventsOf(server.current, id) }).to.deep.equal(before);
  });

  it("does not expire a referral before its deadline, even when asked to", async () => {
    const id = await newReferral(server.current, partner);
    const { agenda } = server.current.deadlines;
    const ran = new Promise<void>((resolve) => agenda.once(`complete:${DEADLINES_DUE_JOB}`, () => resolve()));
    await agenda.now(DEADLINES_DUE_JOB, { dueAt: new Date().toISOString() });
    await ran;
    expect(await server.current.deadlines.sweep()).to.equal(0);
    expect((await rowOf(server.current, id)).status).to.equal("NEW");
  });

  it("keeps one job per due second in the store, however many referrals fall in it", async () => {
    const partners = [partner, ...(await Promise.all(Array.from({ length: 4 }, () => createPartner(server.current))))];
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: partners.map(({ id }) => id) });
    const more = await Promise.all(Array.from({ length: 10 }, () => newReferral(server.current, partner)));
    const ids = [...referralIds, ...more];
    const rows: { respondBy: Date }[] = await server.current.db.query("SELECT respond_by AS respondBy FROM referrals WHERE id IN (?)", [
      ids,
    ]);
    const seconds = new Set(rows.map(({ respondBy }) => dueSecondOf(respondBy).toISOString()));
    const jobs = (await dueJobs(server.current)).filter((dueAt) => seconds.has(dueAt));
    expect(jobs.sort(), "one job for each due second").to.deep.equal([...seconds].sort());
    expect(jobs.length).to.be.lessThan(ids.length);
    await eventually("every referral is MISSED", () => allIn(server.current, ids, "MISSED"), 8000);
  });

  it("lets interest and expiry race on many referrals and keeps one story for each", async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, () => newReferral(server.current, partner)));
    const respondBy = Math.max(...(await Promise.all(ids.map(async (id) => (await rowOf(server.current, id)).respondBy!.getTime()))));
    await new Promise((resolve) => setTimeout(resolve, respondBy - Date.now()));
    // The partner answers at the deadline while the jobs and a sweep run.
    const answers = await Promise.all([
      ...ids.map((id) => partner.api.request(`mutation($id: ID!) { expressInterest(id: $id) { status } }`, { id })),
      server.current.deadlines.sweep(),
    ]);
    await eventually("no referral is NEW any more", async () =>
      [...(await statusesOf(server.current, ids)).values()].every((status) => status !== "NEW"),
    );

    const statuses = await statusesOf(server.current, ids);
    const actions = await actionsPerReferral(server.current, ids);
    for (const [index, id] of ids.entries()) {
      const answer = answers[index] as { errors?: { extensions?: { code?: string } }[] };
      const story = actions.get(id)!;
      if (statuses.get(id) === "MISSED") {
        expect(story, id).to.deep.equal(["RECEIVE", "MISS"]);
        expect(
          answer.errors?.map((error) => error.extensions?.code),
          id,
        ).to.deep.equal(["INVALID_TRANSITION"]);
      } else {
        expect(statuses.get(id), id).to.be.oneOf(["EVALUATING", "EXPIRED"]);
        expect(story.slice(0, 2), id).to.deep.equal(["RECEIVE", "EXPRESS_INTEREST"]);
        expect(story, id).to.not.include("MISS");
        expect(answer.errors, id).to.equal(undefined);
      }
    }
  });

  it("gives up within seconds with a clear error when the job store cannot be reached", async () => {
    const started = Date.now();
    try {
      await startTestServer({ JOBS_URL: "redis://127.0.0.1:1" });
      expect.fail("the server started without its job store");
    } catch (error) {
      expect(error).to.be.an.instanceOf(UnreachableServiceError);
      expect((error as Error).message).to.match(/^cannot reach the job store at redis:\/\/127\.0\.0\.1:1 \(JOBS_URL\): /);
    }
    expect(Date.now() - started).to.be.below(7000);
  });
});

describe("jobs > deadlines across restarts, wipes and instances", () => {
  const windows = { NEW_REFERRAL_RESPONSE_WINDOW: "2s", EXPIRY_SWEEP_EVERY: "1h" };
  const servers: TestServer[] = [];
  const start = async (overrides: Record<string, string> = {}) => {
    const started = await startTestServer({ ...windows, ...overrides });
    servers.push(started);
    return started;
  };
  const stopAll = async () => {
    await Promise.all(servers.splice(0).map((running) => running.stop()));
  };
  afterEach(stopAll);

  it("expires, exactly once, a referral whose deadline passed while the server was down", async () => {
    const first = await start();
    const partner = await createPartner(first);
    const id = await newReferral(first, partner);
    const { respondBy } = await rowOf(first, id);
    // Stop just before the deadline.
    await new Promise((resolve) => setTimeout(resolve, respondBy!.getTime() - Date.now() - 300));
    await stopAll();
    expect(await dueJobLocks(respondBy!), "the stopped instance holds no lock on the job").to.deep.equal(["null"]);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // The sweep runs hourly here: only the job can expire it this soon.
    const second = await start();
    await eventually("the referral is MISSED", async () => (await rowOf(second, id)).status === "MISSED", 5000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await eventsOf(second, id)).map((event) => event.action)).to.deep.equal(["RECEIVE", "MISS"]);
  });

  it("still expires overdue referrals after the job store was wiped, through the sweep", async () => {
    const running = await start({ EXPIRY_SWEEP_EVERY: "1s" });
    const partner = await createPartner(running);
    const ids = await Promise.all(Array.from({ length: 5 }, () => newReferral(running, partner)));
    const wiped = await purgeNamespace(testDatabase.database);
    expect(wiped).to.be.greaterThan(0);
    expect(await dueJobs(running)).to.deep.equal([]);

    await eventually("every referral is MISSED", () => allIn(running, ids, "MISSED"), 10_000);
    for (const actions of (await actionsPerReferral(running, ids)).values()) expect(actions).to.deep.equal(["RECEIVE", "MISS"]);
  });

  it("expires each referral exactly once with two servers on one database and one job store", async () => {
    const [a, b] = [await start(), await start()];
    const partner = await createPartner(a);
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => submitRfi((i % 2 === 0 ? a : b).admin, { partnerIds: [partner.id] })),
    ).then((submitted) => submitted.map(({ referralIds }) => referralIds[0]));
    await eventually("every referral is MISSED", () => allIn(a, ids, "MISSED"), 10_000);
    await Promise.all([a.deadlines.sweep(), b.deadlines.sweep()]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const [id, actions] of await actionsPerReferral(a, ids)) expect(actions, id).to.deep.equal(["RECEIVE", "MISS"]);
  });

  it("stops a running sweep at a batch's end when the server stops, and the next start finishes it", async () => {
    const running = await start();
    const partner = await createPartner(running);
    const marker = `drain ${process.pid} ${Date.now()}`;
    const count = 3 * EXPIRY_BATCH_SIZE + 50;
    await insertOverdue(running.db, partner, marker, count);
    const started = new Promise<void>((resolve) => running.deadlines.agenda.once(`start:${SWEEP_JOB}`, () => resolve()));
    await running.deadlines.agenda.now(SWEEP_JOB);
    await started;
    await running.stop();
    servers.splice(servers.indexOf(running), 1);

    // Every batch whole: each referral is MISSED with one MISS event, or still NEW with none.
    const whole = async (db: Pick<TestServer["db"], "query">) => {
      const [row] = await db.query(
        `SELECT SUM(r.status = 'MISSED') AS expired, SUM(r.status = 'NEW') AS \`left\`,
                (SELECT COUNT(*) FROM referral_events e JOIN referrals x ON x.id = e.referral_id JOIN rfis y ON y.id = x.rfi_id
                 WHERE y.need = ? AND e.action = 'MISS') AS events
         FROM referrals r JOIN rfis ON rfis.id = r.rfi_id WHERE rfis.need = ?`,
        [marker, marker],
      );
      return { expired: Number(row.expired), left: Number(row.left), events: Number(row.events) };
    };
    const connection = await mysql.createConnection({ ...testDatabase });
    try {
      const atStop = await whole({
        query: async (sql: string, parameters?: unknown[]) => (await connection.query(sql, parameters))[0] as never,
      });
      expect(atStop.expired + atStop.left).to.equal(count);
      expect(atStop.events).to.equal(atStop.expired);
    } finally {
      await connection.end();
    }
    const next = await start();
    await eventually("the next start expires the rest", async () => (await whole(next.db)).left === 0, 20_000);
    expect(await whole(next.db)).to.deep.equal({ expired: count, left: 0, events: count });
  });

  it("keeps two deployments on one Redis apart by JOBS_NAMESPACE", async () => {
    const ours = await start({ JOBS_NAMESPACE: `ours-${process.pid}` });
    // Another deployment: its own database, its own namespace, the same Redis.
    const theirDatabase = `${testDatabase.database}_theirs`;
    const theirs = await start({
      JOBS_NAMESPACE: `theirs-${process.pid}`,
      DATABASE_URL: TEST_DATABASE_URL.replace(/[^/]+$/, theirDatabase),
    });
    const partner = await createPartner(ours);
    const id = await newReferral(ours, partner);
    const { respondBy } = await rowOf(ours, id);
    expect(await dueJobs(ours)).to.include(dueSecondOf(respondBy!).toISOString());
    expect(await dueJobs(theirs)).to.deep.equal([]);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`ours-${process.pid}:agenda:*`)).to.not.be.empty;
      const stray = (await redis.keys("*agenda*")).filter((key) => !/^[A-Za-z0-9_-]+:agenda:/.test(key));
      expect(stray, "keys outside any namespace").to.deep.equal([]);
    } finally {
      redis.disconnect();
      await stopAll();
      await purgeNamespace(`ours-${process.pid}`);
      await purgeNamespace(`theirs-${process.pid}`);
      await dropTestDatabase(theirDatabase);
    }
  });
});

describe("jobs > the MongoDB job store", () => {
  const mongoUrl = process.env.MONGO_URL;

  before(function () {
    if (!mongoUrl) {
      console.log("    skipped: MONGO_URL is not set, and no MongoDB server runs on this machine (set MONGO_URL=mongodb://… to run it)");
      this.skip();
    }
  });

  it("expires a NEW referral into MISSED on the MongoDB backend", async () => {
    const running = await startTestServer({ ...SHORT_WINDOWS, JOBS_URL: mongoUrl!, JOBS_NAMESPACE: `mongo_${process.pid}` });
    try {
      const partner = await createPartner(running);
      const id = await newReferral(running, partner);
      expect(await dueJobs(running)).to.include(dueSecondOf((await rowOf(running, id)).respondBy!).toISOString());
      await eventually("the referral is MISSED", async () => (await rowOf(running, id)).status === "MISSED", 10_000);
      expect((await eventsOf(running, id)).map((event) => event.action)).to.deep.equal(["RECEIVE", "MISS"]);
    } finally {
      await running.stop();
    }
  });
});
