import { expect } from "chai";
import pino from "pino";
import type { DataSource } from "typeorm";
import { FitScores } from "../../src/analytics/fit-scores.js";
import { ENTITIES } from "../../src/app/entities.js";
import { createDataSource } from "../../src/db/data-source.js";
import { ReferralAction } from "../../src/referrals/lifecycle.js";
import { testDatabase } from "../support/database.js";
import { createPartner, daysFromToday, rfiInput, SUBMIT_RFI, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import { fitScoresSettled } from "../support/wait.js";

/** Records every statement of a data source (background ones included). */
class AllStatements {
  statements: string[] = [];
  logQuery(query: string): void {
    this.statements.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

const ARRIVALS = 30;

describe("analytics > fit scores of arrivals, off the request path", () => {
  const server = useTestServer();
  const recorder = new AllStatements();
  let db: DataSource;
  let partners: TestPartner[];
  const arrived: string[] = [];

  before(async function () {
    this.timeout(60_000);
    db = createDataSource(testDatabase, ENTITIES, { logger: recorder });
    await db.initialize();
    partners = [await createPartner(server.current), await createPartner(server.current)];
    // Some history, so that arrivals get a score and reasons.
    for (const partner of partners) {
      for (const industry of ["Manufacturing", "Retail"]) {
        const { submitRfi } = await server.current.admin.data(SUBMIT_RFI, {
          input: { ...rfiInput({ partnerIds: [partner.id] }), industry },
        });
        const id = submitRfi.referrals[0].id;
        await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
        if (industry === "Retail") await partner.api.data(`mutation($id: ID!) { declineReferral(id: $id) { id } }`, { id });
        else
          await partner.api.data(
            `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "9000.00", currency: "EUR", estimatedCloseDate: "${daysFromToday(20)}" }) { id } }`,
            { id },
          );
      }
    }
    for (let i = 0; i < ARRIVALS; i++) {
      const input = { ...rfiInput({ partnerIds: [partners[i % 2].id] }), industry: i % 3 === 0 ? "Retail" : "Manufacturing" };
      arrived.push((await server.current.admin.data(SUBMIT_RFI, { input })).submitRfi.referrals[0].id);
    }
    await fitScoresSettled(server.current);
  });

  after(async () => {
    await db?.destroy();
  });

  const scoresOf = async (ids: string[]) =>
    (await server.current.db.query(
      "SELECT CAST(id AS CHAR) AS id, fit_score AS score, fit_reasons AS reasons FROM referrals WHERE id IN (?) ORDER BY id",
      [ids],
    )) as {
      id: string;
      score: string | null;
      reasons: string | null;
    }[];

  it("gives each arrival the score the model gives it, once the queue is settled", async () => {
    const scores = await scoresOf(arrived);
    expect(scores).to.have.length(ARRIVALS);
    for (const { score, reasons } of scores) {
      expect(score, "every arrival of a partner with history is scored").not.to.equal(null);
      expect(JSON.parse(reasons!)).to.be.an("array").that.is.not.empty;
    }
  });

  /** The arrivals with their scores erased, as the queue receives them. */
  async function unscoredArrivals(): Promise<never[]> {
    await server.current.db.query("UPDATE referrals SET fit_score = NULL, fit_reasons = NULL WHERE id IN (?)", [arrived]);
    return server.current.db.query(
      `SELECT CAST(id AS CHAR) AS id, CAST(partner_id AS CHAR) AS partnerId, CAST(rfi_id AS CHAR) AS rfiId, status, received_at AS receivedAt,
              answered_at AS answeredAt, industry, company_size AS companySize, region, deal_value AS dealValue, deal_currency AS dealCurrency
       FROM referrals WHERE id IN (?)`,
      [arrived],
    );
  }

  it(`scores ${ARRIVALS} queued arrivals of two partners in a handful of statements, to the same scores`, async () => {
    const expected = await scoresOf(arrived);
    const rows = await unscoredArrivals();
    const scores = new FitScores(db, pino({ level: "silent" }));
    recorder.statements = [];
    scores.refresh(rows.map((referral: never) => ({ action: ReferralAction.RECEIVE, referral })));
    await scores.settled();

    expect(await scoresOf(arrived)).to.deep.equal(expected);
    // The keywords once, each partner's counters once, one short transaction for the writes, and one look
    // at whether a decision came meanwhile: not three per referral.
    expect(recorder.statements.length, recorder.statements.join("\n")).to.be.at.most(9);
  });

  it("scores nothing while held (a burst of requests), and what queued meanwhile once the hold ends", async () => {
    const expected = await scoresOf(arrived);
    const rows = await unscoredArrivals();
    const scores = new FitScores(db, pino({ level: "silent" }));
    let release = () => {};
    const held = scores.holding(() => new Promise<void>((resolve) => (release = resolve)));
    scores.refresh(rows.map((referral: never) => ({ action: ReferralAction.RECEIVE, referral })));
    const settled = scores.settled();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      (await scoresOf(arrived)).filter(({ score }) => score !== null),
      "scored during the hold",
    ).to.deep.equal([]);
    release();
    await held;
    // settled() waited for the hold to end, then for the scoring.
    await settled;
    expect(await scoresOf(arrived)).to.deep.equal(expected);
  });
});
