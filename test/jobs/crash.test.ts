import { expect } from "chai";
import type { DataSource } from "typeorm";
import { openDatabase } from "../../src/db/data-source.js";
import { countersMatchRows } from "../support/counters.js";
import { TEST_DATABASE_URL, testDatabase, truncateAll } from "../support/database.js";
import { insertOverdue } from "../support/fixtures.js";
import { ADMIN_KEY } from "../support/harness.js";
import { startProcess } from "../support/process.js";
import { purgeNamespace } from "../support/redis.js";
import { eventually } from "../support/wait.js";
import { ENTITIES } from "../../src/app/entities.js";

const BACKLOG = 20_000;

describe("jobs > a backlog across a crash", () => {
  let db: DataSource;
  const marker = `crash ${process.pid}`;

  before(async function () {
    this.timeout(60_000);
    db = await openDatabase(testDatabase, ENTITIES, { poolSize: 2 });
    await truncateAll(db);
    await purgeNamespace(testDatabase.database);
  });
  after(async () => {
    await db?.destroy();
    await purgeNamespace(testDatabase.database);
  });

  async function progress(): Promise<{ missed: number; events: number }> {
    const [row] = await db.query(
      `SELECT (SELECT COUNT(*) FROM referrals WHERE status = 'MISSED') AS missed,
              (SELECT COUNT(*) FROM referral_events WHERE action = 'MISS') AS events`,
    );
    return { missed: Number(row.missed), events: Number(row.events) };
  }

  it(`expires ${BACKLOG.toLocaleString("en")} overdue referrals exactly once across a SIGKILL in the middle and a restart`, async function () {
    this.timeout(120_000);
    await db.query("INSERT INTO partners (id, name, created_at) VALUES (1, 'Crash partner', NOW(3))");
    await db.query(
      `INSERT INTO marketing_profiles (id, partner_id, region, location, contact_email, keywords, preferred_company_sizes, active, created_at, updated_at)
       VALUES (1, 1, 'FR', 'Paris', 'crash@partner.example', '[]', '[]', 1, NOW(3), NOW(3))`,
    );
    await insertOverdue(db, { id: "1", profileId: "1" }, marker, BACKLOG);

    const env = { NODE_ENV: "test", PORT: "0", DATABASE_URL: TEST_DATABASE_URL, ADMIN_API_KEY: ADMIN_KEY, EXPIRY_SWEEP_EVERY: "1h" };
    const first = startProcess(env);
    // Killed once some batches committed and before the backlog is done.
    await eventually("the first batches are expired", async () => (await progress()).missed > 0, 30_000);
    first.child.kill("SIGKILL");
    const killed = await first.exited;
    expect(killed.signal).to.equal("SIGKILL");
    const atKill = await progress();
    expect(atKill.missed, "killed in the middle of the backlog").to.be.below(BACKLOG);
    expect(atKill.events, "every committed batch has its events, and no more").to.equal(atKill.missed);

    const second = startProcess(env);
    try {
      const restarted = Date.now();
      await eventually("the restart expires the rest", async () => (await progress()).missed === BACKLOG, 30_000);
      expect(Date.now() - restarted, "the sweep starts at once").to.be.below(20_000);
      const [{ once, twice }] = await db.query(
        `SELECT SUM(n = 1) AS once, SUM(n > 1) AS twice FROM (
           SELECT r.id, COUNT(e.id) AS n FROM referrals r LEFT JOIN referral_events e ON e.referral_id = r.id AND e.action = 'MISS'
           GROUP BY r.id) per_referral`,
      );
      expect({ once: Number(once), twice: Number(twice ?? 0) }).to.deep.equal({ once: BACKLOG, twice: 0 });
      await countersMatchRows(db);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
