import { expect } from "chai";
import type { DataSource } from "typeorm";
import { countsOf, dealBandOf, fitOf, type FitExample, type FitFeatures } from "../../src/analytics/fit.js";
import { createDataSource, ensureDatabase } from "../../src/db/data-source.js";
import { FIT_RESCORE_JOB, RESCORE_COALESCE_MS } from "../../src/jobs/fit-jobs.js";
import { dealWon, outcomeOf, ReferralStatus } from "../../src/referrals/lifecycle.js";
import { testDatabase, truncateAll } from "../support/database.js";
import { createPartner, daysFromToday, rfiInput, SUBMIT_RFI, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";
import { random } from "../support/random.js";
import { purgeNamespace } from "../support/redis.js";
import { COUNTERS, normalised, recounted, type CounterRow } from "../support/counters.js";
import { StatementRecorder } from "../support/statements.js";
import { eventually, fitScoresSettled } from "../support/wait.js";
import { ENTITIES } from "../../src/app/entities.js";

interface ReferralRow {
  id: string;
  partnerId: string;
  status: ReferralStatus;
  industry: string | null;
  companySize: string;
  region: string;
  keywords: string;
  dealValue: string | null;
  dealCurrency: string | null;
  receivedAt: Date;
  answeredAt: Date | null;
  fitScore: string | null;
  fitReasons: string | null;
}

async function referralRows(db: DataSource): Promise<ReferralRow[]> {
  return db.query(
    `SELECT CAST(r.id AS CHAR) AS id, CAST(r.partner_id AS CHAR) AS partnerId, r.status, r.industry, r.company_size AS companySize,
            r.region, f.keywords, r.deal_value AS dealValue, r.deal_currency AS dealCurrency, r.received_at AS receivedAt,
            r.answered_at AS answeredAt, r.fit_score AS fitScore, r.fit_reasons AS fitReasons
     FROM referrals r JOIN rfis f ON f.id = r.rfi_id ORDER BY r.id`,
  );
}

function featuresOfRow(row: ReferralRow): FitFeatures {
  return {
    industry: row.industry,
    companySize: row.companySize,
    region: row.region,
    keywords: JSON.parse(row.keywords) as string[],
    dealBand: dealBandOf(row.dealValue, row.dealCurrency),
  };
}

function exampleOf(row: ReferralRow): FitExample | undefined {
  const outcome = outcomeOf(row.status);
  return outcome === undefined ? undefined : { ...featuresOfRow(row), id: row.id, outcome, won: dealWon(row.status) ?? null };
}

/** The counters recomputed in JavaScript from the rows, through the model's own definition (fit.ts). */
function countersFromRows(rows: ReferralRow[]): CounterRow[] {
  const counters: CounterRow[] = [];
  for (const partnerId of [...new Set(rows.map((row) => row.partnerId))]) {
    const mine = rows.filter((row) => row.partnerId === partnerId);
    const history = mine.map(exampleOf).filter((example) => example !== undefined);
    for (const count of countsOf(history).entries()) counters.push({ partnerId, ...count });
    const leftNew = mine.filter((row) => row.status !== ReferralStatus.NEW);
    if (leftNew.length > 0) {
      const within = leftNew.filter((row) => row.answeredAt !== null && row.answeredAt.getTime() - row.receivedAt.getTime() <= 86_400_000);
      counters.push({ partnerId, kind: "LEFT_NEW", value: "", total: leftNew.length, hits: within.length });
    }
    const missed = mine.filter((row) => row.status === ReferralStatus.MISSED).length;
    if (missed > 0) counters.push({ partnerId, kind: "MISSED", value: "", total: missed, hits: 0 });
  }
  const key = (row: CounterRow) => `${row.partnerId.padStart(20, "0")} ${row.kind} ${Buffer.from(row.value).toString("hex")}`;
  return counters.sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

const INDUSTRIES = ["Santé", "santé", "Sante", "Manufacturing", "manufacturing", null];
const KEYWORDS = ["ERP", "erp", "Cloud", "data", "IA", "Sécurité"];
const SIZES = ["SIZE_1_TO_9", "SIZE_50_TO_249", "SIZE_5000_PLUS"];
const VALUES = ["9999.99", "10000.00", "250000.00", "1000000.00"];

describe("analytics > partner counters", () => {
  let server: TestServer;
  const recorder = new StatementRecorder();
  let db: DataSource;
  let partners: TestPartner[];

  before(async function () {
    this.timeout(120_000);
    await ensureDatabase(testDatabase);
    db = createDataSource(testDatabase, ENTITIES, { logger: recorder });
    await db.initialize();
    await db.runMigrations({ transaction: "each" });
    await truncateAll(db);
    // Nothing in the background but what a test causes: statements are counted.
    server = await startTestServer({ EXPIRY_SWEEP_EVERY: "1h" }, { db });
    await server.services.apiKeys.syncEnvironmentAdminKey(ADMIN_KEY);
    partners = [await createPartner(server), await createPartner(server), await createPartner(server)];

    // A seeded random history: every kind of decision, case and accent variants, one to three keywords.
    const next = random(9);
    for (let i = 0; i < 60; i++) {
      const partner = partners[next(partners.length)];
      const keywords = [...new Set(Array.from({ length: 1 + next(3) }, () => KEYWORDS[next(KEYWORDS.length)]))];
      const { submitRfi } = await server.admin.data(SUBMIT_RFI, {
        input: {
          ...rfiInput({ partnerIds: [partner.id], keywords, companySize: SIZES[next(SIZES.length)] }),
          industry: INDUSTRIES[next(INDUSTRIES.length)],
        },
      });
      await decide(server, partner, submitRfi.referrals[0].id, next);
    }
    await fitScoresSettled(server);
  });
  after(async () => {
    await server?.stop();
    await db?.destroy();
    await purgeNamespace(testDatabase.database);
  });

  it("holds every counter equal to a set-based recount from the rows", async () => {
    const kept = normalised(await server.db.query(COUNTERS));
    expect(kept.map((row) => row.kind)).to.include.members(["DECIDED", "KEYWORD", "DEAL_BAND", "LEFT_NEW", "MISSED", "INDUSTRY"]);
    expect(kept).to.deep.equal(await recounted(server.db));
  });

  it("holds every counter equal to the model's own count of the decided referrals (fit.ts)", async () => {
    expect(normalised(await server.db.query(COUNTERS))).to.deep.equal(countersFromRows(await referralRows(server.db)));
  });

  it("keeps Santé, santé and Sante apart as two industries (case folded, accents kept)", async () => {
    const industries: { value: string }[] = await server.db.query(
      "SELECT DISTINCT value FROM partner_counters WHERE kind = 'INDUSTRY' ORDER BY value",
    );
    expect(industries.map((row) => row.value)).to.include.members(["santé", "sante"]);
    expect(industries.map((row) => row.value)).to.not.include("Santé");
  });

  it("scores every open referral as the model scores it from its partner's decided referrals", async () => {
    const rows = await referralRows(server.db);
    const open = rows.filter((row) => ["NEW", "EVALUATING", "NEGOTIATING"].includes(row.status));
    expect(open.length).to.be.greaterThan(5);
    for (const row of open) {
      const history = rows
        .filter((other) => other.partnerId === row.partnerId && other.id !== row.id)
        .map(exampleOf)
        .filter((example) => example !== undefined);
      const expected = fitOf(featuresOfRow(row), history);
      expect({ score: row.fitScore, reasons: row.fitReasons === null ? null : JSON.parse(row.fitReasons) }, row.id).to.deep.equal({
        score: expected === null ? null : expected.score.toFixed(4),
        reasons: expected?.reasons ?? null,
      });
    }
  });

  it("counts exactly under 20 concurrent decisions of one partner (deadlocked transactions run again)", async () => {
    const partner = partners[0];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { submitRfi } = await server.admin.data(SUBMIT_RFI, {
        input: rfiInput({ partnerIds: [partner.id], keywords: [`burst${i}`, "shared"] }),
      });
      ids.push(submitRfi.referrals[0].id);
    }
    const answers = await Promise.all(
      ids.map((id, i) =>
        partner.api.request(`mutation($id: ID!) { ${i % 2 ? "ignoreReferral" : "expressInterest"}(id: $id) { id } }`, { id }),
      ),
    );
    expect(answers.flatMap((answer) => answer.errors ?? [])).to.deep.equal([]);
    expect(normalised(await server.db.query(COUNTERS))).to.deep.equal(await recounted(server.db));
    await fitScoresSettled(server);
  });

  it("sends the same statements for a decision whatever the partner's history", async () => {
    const fresh = await createPartner(server);
    const seasoned = partners[1];
    // The e-mails' relay works on other connections meanwhile: the decision alone is measured.
    await server.outbox.stop();
    const statementsOfIgnore = async (partner: TestPartner) => {
      const { submitRfi } = await server.admin.data(SUBMIT_RFI, {
        input: rfiInput({ partnerIds: [partner.id], keywords: ["erp", "cloud"] }),
      });
      await fitScoresSettled(server);
      // The key is checked once, then remembered for a few seconds: the decision alone is measured.
      await partner.api.data(`{ me { role } }`);
      const statements = await recorder.during(() =>
        partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id status } }`, { id: submitRfi.referrals[0].id }),
      );
      return statements.map((statement) => statement.replace(/\s+/g, " "));
    };
    const [history] = await server.db.query("SELECT COUNT(*) AS n FROM referrals WHERE partner_id = ?", [seasoned.id]);
    expect(Number(history.n)).to.be.greaterThan(15);
    expect(await statementsOfIgnore(seasoned)).to.deep.equal(await statementsOfIgnore(fresh));
  });
});

describe("analytics > partner counters after a lost job", () => {
  let server: TestServer;

  before(async function () {
    this.timeout(60_000);
    // Scores lagging behind their counters are looked for every EXPIRY_SWEEP_EVERY.
    server = await startTestServer({ EXPIRY_SWEEP_EVERY: "1s" });
  });
  after(async () => {
    await server?.stop();
    await purgeNamespace(testDatabase.database);
  });

  it("keeps one rescoring job per partner in the store while rescoring falls behind, however many decisions come", async function () {
    this.timeout(30_000);
    const partner = await createPartner(server);
    const referrals: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { submitRfi } = await server.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id] }) });
      referrals.push(submitRfi.referrals[0].id);
    }
    await fitScoresSettled(server);
    const { agenda } = server.scheduler;
    // No job runs meanwhile: decisions further apart than the coalescing window each ask for a run.
    await agenda.stop();
    try {
      for (const id of referrals) {
        await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id });
        await new Promise((resolve) => setTimeout(resolve, RESCORE_COALESCE_MS + 200));
      }
      const { jobs } = await agenda.db.queryJobs({ name: FIT_RESCORE_JOB });
      expect(jobs.filter((job) => (job.data as { partnerId: string }).partnerId === partner.id)).to.have.length(1);
    } finally {
      await agenda.start();
    }
    await fitScoresSettled(server);
  });

  it("rescores a partner whose rescoring job was lost with the job store", async () => {
    const partner = await createPartner(server);
    const { submitRfi } = await server.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id], keywords: ["lost-job"] }) });
    const open = submitRfi.referrals[0].id;
    const { submitRfi: other } = await server.admin.data(SUBMIT_RFI, {
      input: rfiInput({ partnerIds: [partner.id], keywords: ["lost-job"] }),
    });
    await fitScoresSettled(server);
    const fitOfOpen = async () =>
      (await server.db.query("SELECT fit_score AS score, fit_reasons AS reasons FROM referrals WHERE id = ?", [open]))[0];
    expect(await fitOfOpen(), "no history, no score").to.deep.equal({ score: null, reasons: null });
    await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: other.referrals[0].id });
    // The job is due a second later; the wiped store loses it. Only the catch-up can rescore now.
    expect(await purgeNamespace(testDatabase.database)).to.be.greaterThan(0);
    await fitScoresSettled(server);
    const { score, reasons } = await fitOfOpen();
    expect(Number(score)).to.be.lessThan(0.5);
    expect(JSON.parse(reasons)).to.have.length(3);
  });
});

describe("analytics > partner counters when the job store runs late", () => {
  let server: TestServer;

  before(async function () {
    this.timeout(60_000);
    // No catch-up: only the decisions' own jobs can rescore.
    server = await startTestServer({ EXPIRY_SWEEP_EVERY: "1h" });
  });
  after(async () => {
    await server?.stop();
    await purgeNamespace(testDatabase.database);
  });

  it("rescores after a decision that came once an overdue job it would have counted on had run", async function () {
    this.timeout(30_000);
    const partner = await createPartner(server);
    const referrals: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { submitRfi } = await server.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id] }) });
      referrals.push(submitRfi.referrals[0].id);
    }
    await fitScoresSettled(server);
    const { agenda } = server.scheduler;
    const ignore = (id: string) => partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id });
    const waiting = async () => (await agenda.db.queryJobs({ name: FIT_RESCORE_JOB })).jobs.length;
    await agenda.stop();
    try {
      await ignore(referrals[0]);
      await new Promise((resolve) => setTimeout(resolve, RESCORE_COALESCE_MS + 200));
      // The job is overdue: this decision finds it waiting, and it runs as soon as the store is processed.
      await ignore(referrals[1]);
    } finally {
      await agenda.start();
    }
    await eventually("the overdue job has run", async () => (await waiting()) === 0);
    // Within a coalescing window of the last decision, yet no job is left that will see this one.
    await ignore(referrals[2]);
    await fitScoresSettled(server);
  });
});

/** Takes a referral down a random path: left NEW, answered, accepted, won or lost with a value, declined or missed. */
async function decide(server: TestServer, partner: TestPartner, id: string, next: (n: number) => number): Promise<void> {
  const act = (mutation: string) => partner.api.data(`mutation($id: ID!) { ${mutation} }`, { id });
  const path = next(8);
  if (path === 0) return;
  if (path === 1) return void (await act("ignoreReferral(id: $id) { id }"));
  if (path === 2) {
    await server.db.query("UPDATE referrals SET respond_by = NOW(3) - INTERVAL 1 SECOND WHERE id = ?", [id]);
    return void (await server.deadlines.sweep());
  }
  if (path === 7) await server.db.query("UPDATE referrals SET received_at = NOW(3) - INTERVAL 30 HOUR WHERE id = ?", [id]);
  await act("expressInterest(id: $id) { id }");
  if (path === 3) return;
  if (path === 4) return void (await act("declineReferral(id: $id) { id }"));
  const value = VALUES[next(VALUES.length)];
  await act(
    `acceptReferral(id: $id, input: { estimatedDealValue: "${value}", currency: "EUR", estimatedCloseDate: "${daysFromToday(30)}" }) { id }`,
  );
  if (path === 5) return void (await act(next(2) ? "markReferralWon(id: $id) { id }" : "markReferralLost(id: $id) { id }"));
  if (path === 6)
    return void (await act(`markReferralWon(id: $id, input: { dealValue: "${VALUES[next(VALUES.length)]}", currency: "USD" }) { id }`));
}
