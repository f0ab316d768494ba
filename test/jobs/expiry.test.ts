import { expect } from "chai";
import type { DataSource } from "typeorm";
import { createDataSource, ensureDatabase } from "../../src/db/data-source.js";
import { DEADLINES_DUE_JOB, dueSecondOf } from "../../src/jobs/deadline-jobs.js";
import { EXPIRY_BATCH_SIZE, EXPIRY_WORKERS } from "../../src/referrals/referral-expiry.js";
import { testDatabase, truncateAll } from "../support/database.js";
import { createPartner, insertOverdue, newReferral, submitRfi, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";
import { purgeNamespace } from "../support/redis.js";
import { StatementRecorder } from "../support/statements.js";
import { countersMatchRows } from "../support/counters.js";
import { ENTITIES } from "../../src/app/entities.js";

/** Each referral's actions, in order, for the referrals of RFIs with this need. */
async function storiesOf(server: TestServer, marker: string): Promise<Map<string, { status: string; actions: string[] }>> {
  const rows: { id: string; status: string; action: string | null }[] = await server.db.query(
    `SELECT CAST(r.id AS CHAR) AS id, r.status, e.action FROM referrals r JOIN rfis f ON f.id = r.rfi_id
     LEFT JOIN referral_events e ON e.referral_id = r.id WHERE f.need = ? ORDER BY r.id, e.id`,
    [marker],
  );
  const stories = new Map<string, { status: string; actions: string[] }>();
  for (const row of rows) {
    const story = stories.get(row.id) ?? { status: row.status, actions: [] };
    if (row.action !== null) story.actions.push(row.action);
    stories.set(row.id, story);
  }
  return stories;
}

describe("jobs > expiry in sets", () => {
  const recorder = new StatementRecorder();
  let db: DataSource;
  let server: TestServer;
  let partner: TestPartner;

  before(async function () {
    this.timeout(60_000);
    await ensureDatabase(testDatabase);
    db = createDataSource(testDatabase, ENTITIES, { logger: recorder });
    await db.initialize();
    await db.runMigrations({ transaction: "each" });
    await truncateAll(db);
    await purgeNamespace(testDatabase.database);
    // Deadlines far away and a rare sweep: only the sweeps a test runs expire anything.
    server = await startTestServer({ NEW_REFERRAL_RESPONSE_WINDOW: "1h", EXPIRY_SWEEP_EVERY: "1h" }, { db });
    await server.services.apiKeys.syncEnvironmentAdminKey(ADMIN_KEY);
    partner = await createPartner(server);
  });
  after(async () => {
    await server?.stop();
    await db?.destroy();
  });

  it(`expires a backlog with one locking SELECT, one UPDATE and one INSERT of events per batch of ${EXPIRY_BATCH_SIZE}`, async () => {
    const marker = `backlog ${Date.now()}`;
    const count = 2 * EXPIRY_BATCH_SIZE + 50;
    await insertOverdue(server.db, partner, marker, count);
    let expired = 0;
    const statements = (await recorder.during(async () => (expired = await server.deadlines.sweep()))).map((sql) =>
      sql.replace(/\s+/g, " "),
    );
    expect(expired).to.equal(count);
    const matching = (pattern: RegExp) => statements.filter((sql) => pattern.test(sql)).length;
    // Two full batches and a short one; then each worker's last look finds a short or empty batch, for each status.
    expect(matching(/^SELECT .* FROM referrals r .* FOR UPDATE SKIP LOCKED$/)).to.equal(2 + EXPIRY_WORKERS * 2);
    expect(matching(/^UPDATE referrals /)).to.equal(3);
    expect(matching(/^INSERT INTO referral_events /)).to.equal(3);
    expect(matching(/^INSERT INTO partner_counters/)).to.equal(3);
    // Each batch lets go of its profiles' open referrals in one statement, whatever its size.
    expect(matching(/^UPDATE marketing_profiles SET open_referrals/)).to.equal(3);
    // The batches write no e-mail themselves: the customers are told once the sequencer places their events.
    expect(matching(/^INSERT INTO outbox_messages /)).to.equal(0);
    await server.sequencer.settle();
    const [told] = await server.db.query(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT o.referral_id) AS referrals FROM outbox_messages o JOIN referrals r ON r.id = o.referral_id
       JOIN rfis f ON f.id = r.rfi_id WHERE o.kind = 'CHOOSE_ANOTHER_PARTNER' AND f.need = ?`,
      [marker],
    );
    expect([Number(told.n), Number(told.referrals)]).to.deep.equal([count, count]);
    for (const [id, story] of await storiesOf(server, marker)) expect(story, id).to.deep.equal({ status: "MISSED", actions: ["MISS"] });
    await countersMatchRows(server.db);
  });

  it("races the sweeps of two servers and partner answers on the same rows: one winner per row, one event each", async () => {
    const other = await startTestServer({ NEW_REFERRAL_RESPONSE_WINDOW: "1h", EXPIRY_SWEEP_EVERY: "1h" });
    // Its start sweep is over before the rows exist.
    await other.deadlines.sweep();
    try {
      await raceOn(other);
    } finally {
      await other.stop();
    }
  });

  async function raceOn(other: TestServer): Promise<void> {
    const marker = `race ${Date.now()}`;
    await insertOverdue(server.db, partner, marker, 300);
    const ids = [...(await storiesOf(server, marker)).keys()];
    // Due in a moment: the answers and the sweeps start together just after it.
    await server.db.query("UPDATE referrals SET respond_by = NOW(3) + INTERVAL 300000 MICROSECOND WHERE id IN (?)", [ids]);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const answering = ids.map((id, i) =>
      partner.api.request(`mutation($id: ID!) { ${i % 2 ? "ignoreReferral" : "expressInterest"}(id: $id) { status } }`, { id }),
    );
    // The sweeps start once the first answers are in, while most are still on their way.
    await Promise.race(answering);
    const answers = await Promise.all([...answering, server.deadlines.sweep(), other.deadlines.sweep()]);
    const stories = await storiesOf(server, marker);
    let missed = 0;
    for (const [index, id] of ids.entries()) {
      const story = stories.get(id)!;
      const answer = answers[index] as { errors?: { extensions?: { code?: string } }[] };
      if (story.status === "MISSED") {
        missed++;
        expect(story.actions, id).to.deep.equal(["MISS"]);
        expect(
          answer.errors?.map((error) => error.extensions?.code),
          id,
        ).to.deep.equal(["INVALID_TRANSITION"]);
      } else {
        expect(story, id).to.deep.equal(
          index % 2 ? { status: "IGNORED", actions: ["IGNORE"] } : { status: "EVALUATING", actions: ["EXPRESS_INTEREST"] },
        );
        expect(answer.errors, id).to.equal(undefined);
      }
    }
    expect(missed, "both sides won some rows").to.be.within(1, ids.length - 1);
    expect((answers[ids.length] as number) + (answers[ids.length + 1] as number)).to.equal(missed);
    await countersMatchRows(server.db);
  }
});

describe("jobs > deadlines planned within the horizon", () => {
  let server: TestServer;
  let partner: TestPartner;

  before(async function () {
    this.timeout(60_000);
    // The horizon is twice EXPIRY_SWEEP_EVERY: two minutes here, far short of the hour to answer.
    server = await startTestServer({ NEW_REFERRAL_RESPONSE_WINDOW: "1h", EXPIRY_SWEEP_EVERY: "1 minute" });
    partner = await createPartner(server);
  });
  after(async () => {
    await server?.stop();
    // Its planned jobs would sweep other tests' rows when their time comes.
    await purgeNamespace(testDatabase.database);
  });

  async function dueJobs(): Promise<string[]> {
    const { jobs } = await server.deadlines.agenda.db.queryJobs({ name: DEADLINES_DUE_JOB });
    return jobs.map((job) => (job.data as { dueAt: string }).dueAt).sort();
  }

  it("keeps no job for deadlines beyond the horizon, and plans each second once it comes within it", async () => {
    const { referralIds } = await submitRfi(server.admin, { partnerIds: [partner.id] });
    const more = await Promise.all(Array.from({ length: 20 }, () => newReferral(server, partner)));
    const ids = [...referralIds, ...more];
    const planned = new Set(await dueJobs());
    const [{ respondBy }] = await server.db.query("SELECT respond_by AS respondBy FROM referrals WHERE id = ?", [ids[0]]);
    expect([...planned]).to.not.include(dueSecondOf(respondBy).toISOString());

    // Seven of them now fall due within the horizon, in two seconds 10 s apart.
    await server.db.query("UPDATE referrals SET respond_by = NOW(3) + INTERVAL 30 SECOND WHERE id IN (?)", [ids.slice(0, 4)]);
    await server.db.query("UPDATE referrals SET respond_by = NOW(3) + INTERVAL 40 SECOND WHERE id IN (?)", [ids.slice(4, 7)]);
    const rows: { respondBy: Date }[] = await server.db.query("SELECT respond_by AS respondBy FROM referrals WHERE id IN (?)", [
      ids.slice(0, 7),
    ]);
    await server.deadlines.sweep();
    await server.deadlines.sweep();
    const added = (await dueJobs()).filter((dueAt) => !planned.has(dueAt));
    expect(added).to.deep.equal([...new Set(rows.map((row) => dueSecondOf(row.respondBy).toISOString()))].sort());
  });
});
