import { expect } from "chai";
import { dealBandOf, fitOf, type FitExample, type FitFeatures } from "../../src/analytics/fit.js";
import { createPartner, daysFromToday, rfiInput, SUBMIT_RFI, type TestPartner } from "../support/fixtures.js";
import { useTestServer, type TestServer } from "../support/harness.js";
import { lockingConnection } from "../support/locks.js";
import { eventually, fitScoresSettled } from "../support/wait.js";

const MANUFACTURING: FitFeatures = {
  industry: "Manufacturing",
  companySize: "SIZE_50_TO_249",
  region: "FR",
  keywords: ["erp"],
  dealBand: null,
};
const RETAIL: FitFeatures = { industry: "Retail", companySize: "SIZE_1_TO_9", region: "FR", keywords: ["pos"], dealBand: null };

function examples(features: FitFeatures, outcome: FitExample["outcome"], count: number, won: boolean | null = null): FitExample[] {
  return Array.from({ length: count }, (_, i) => ({ ...features, id: `${outcome}-${features.industry}-${i}`, outcome, won }));
}

describe("analytics > fit score (the model)", () => {
  const history = [...examples(MANUFACTURING, "accepted", 4), ...examples(RETAIL, "declined", 4)];

  it("has no score without history", () => {
    expect(fitOf(MANUFACTURING, [])).to.equal(null);
  });

  it("scores a referral like the accepted ones above one like the declined ones", () => {
    const liked = fitOf(MANUFACTURING, history)!;
    const disliked = fitOf(RETAIL, history)!;
    expect(liked.score).to.be.greaterThan(0.6);
    expect(disliked.score).to.be.lessThan(0.4);
    expect(liked.score).to.be.within(0, 1);
    expect(disliked.score).to.be.within(0, 1);
  });

  it("computes the documented formula exactly", () => {
    // p0 = (4 + 1) / (8 + 2) = 0.5. Industry, size and keywords: 4 of 4 accepted, rate (4 + 1) / 6,
    // weight 4 / 6. Region FR: 4 of 8, rate (4 + 1) / 10 = 0.5, weight 8 / 10.
    const p0 = 0.5;
    const shared = { rate: 5 / 6, weight: 4 / 6 };
    const region = { rate: 0.5, weight: 0.8 };
    const expected = (p0 + 3 * shared.weight * shared.rate + region.weight * region.rate) / (1 + 3 * shared.weight + region.weight);
    expect(fitOf(MANUFACTURING, history)!.score).to.be.closeTo(expected, 1e-12);
  });

  it("names the strongest factors, in words", () => {
    expect(fitOf(MANUFACTURING, history)!.reasons).to.deep.equal([
      "accepted 4 of 4 referrals from companies of 50–249 employees",
      "accepted 4 of 4 referrals in Manufacturing",
      "accepted 4 of 4 referrals about “erp”",
    ]);
    expect(fitOf(RETAIL, history)!.reasons).to.deep.equal([
      "declined or ignored 4 of 4 referrals from companies of 1–9 employees",
      "declined or ignored 4 of 4 referrals in Retail",
      "declined or ignored 4 of 4 referrals about “pos”",
    ]);
  });

  it("weighs deal sizes by the deals of that band the partner won and lost", () => {
    const band = dealBandOf("250000.00", "EUR");
    expect(band).to.equal("100k–1M EUR");
    const deals = [
      ...examples({ ...MANUFACTURING, dealBand: band }, "accepted", 3, true),
      ...examples({ ...MANUFACTURING, dealBand: "under 10k EUR" }, "accepted", 3, false),
    ];
    const big = fitOf({ ...MANUFACTURING, dealBand: band }, deals)!;
    const small = fitOf({ ...MANUFACTURING, dealBand: "under 10k EUR" }, deals)!;
    expect(big.score).to.be.greaterThan(small.score);
    expect(big.reasons).to.include("won 3 of 3 deals of 100k–1M EUR");
    expect(small.reasons).to.include("lost 3 of 3 deals of under 10k EUR");
  });

  it("bands deal values by orders of magnitude in their currency", () => {
    expect([
      dealBandOf("9999.99", "USD"),
      dealBandOf("10000.00", "USD"),
      dealBandOf("999999.99", "GBP"),
      dealBandOf("1000000.00", "GBP"),
      dealBandOf(null, null),
    ]).to.deep.equal(["under 10k USD", "10k–100k USD", "100k–1M GBP", "1M and more GBP", null]);
  });
});

describe("analytics > fit score on referrals", () => {
  const server = useTestServer();
  let partner: TestPartner;
  let newcomer: TestPartner;

  async function referralFor(to: TestPartner, features: { industry: string; companySize: string; keywords: string[] }): Promise<string> {
    const { submitRfi } = await server.current.admin.data(SUBMIT_RFI, { input: { ...rfiInput({ partnerIds: [to.id] }), ...features } });
    return submitRfi.referrals[0].id;
  }
  const manufacturing = { industry: "Manufacturing", companySize: "SIZE_50_TO_249", keywords: ["erp"] };
  const retail = { industry: "Retail", companySize: "SIZE_1_TO_9", keywords: ["pos"] };

  async function fitsOf(api: TestServer["admin"], ids: string[]) {
    // Arrivals are scored off the request path.
    await server.current.fitScores.settled();
    return Promise.all(
      ids.map(async (id) => (await api.data(`query($id: ID!) { referral(id: $id) { fitScore fitReasons } }`, { id })).referral),
    );
  }

  before(async () => {
    partner = await createPartner(server.current);
    newcomer = await createPartner(server.current);
    for (let i = 0; i < 3; i++) {
      const accepted = await referralFor(partner, manufacturing);
      await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: accepted });
      await partner.api.data(
        `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "50000.00", currency: "EUR", estimatedCloseDate: "${daysFromToday(30)}" }) { id } }`,
        { id: accepted },
      );
      const declined = await referralFor(partner, retail);
      await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: declined });
    }
  });

  it("scores a new referral like the accepted ones higher than one like the declined ones, with reasons", async () => {
    const [liked, disliked] = await fitsOf(partner.api, [await referralFor(partner, manufacturing), await referralFor(partner, retail)]);
    expect(liked.fitScore).to.be.greaterThan(0.6);
    expect(disliked.fitScore).to.be.lessThan(0.4);
    expect(liked.fitReasons).to.include("accepted 3 of 3 referrals in Manufacturing");
    expect(disliked.fitReasons).to.include("declined or ignored 3 of 3 referrals in Retail");
  });

  it("has no score and no reasons for a partner without history", async () => {
    const [fit] = await fitsOf(newcomer.api, [await referralFor(newcomer, manufacturing)]);
    expect(fit).to.deep.equal({ fitScore: null, fitReasons: [] });
  });

  it("rescores a partner's open referrals when it decides another one", async () => {
    const open = await referralFor(partner, { industry: "Health", companySize: "SIZE_250_TO_999", keywords: ["crm"] });
    const [before] = await fitsOf(partner.api, [open]);
    for (let i = 0; i < 3; i++) {
      const like = await referralFor(partner, { industry: "Health", companySize: "SIZE_250_TO_999", keywords: ["crm"] });
      await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: like });
    }
    // Off the request path, within seconds.
    await fitScoresSettled(server.current);
    const [after] = await fitsOf(partner.api, [open]);
    expect(after.fitScore).to.be.lessThan(before.fitScore);
    expect(after.fitReasons).to.include("declined or ignored 3 of 3 referrals in Health");
  });

  it("rescores a partner's open referrals around one that another transaction holds, and that one once it is free", async function () {
    this.timeout(60_000);
    const open: string[] = [];
    for (let i = 0; i < 3; i++) open.push(await referralFor(partner, manufacturing));
    await fitScoresSettled(server.current);
    // Stale scores, as the partner's next decision leaves them until its referrals are rescored.
    await server.current.db.query("UPDATE referrals SET fit_score = NULL, fit_reasons = NULL WHERE id IN (?)", [open]);
    await server.current.db.query("UPDATE fit_rescoring SET scored_revision = 0 WHERE partner_id = ?", [partner.id]);
    const scored = async () =>
      (
        await server.current.db.query(
          "SELECT CAST(id AS CHAR) AS id FROM referrals WHERE id IN (?) AND fit_score IS NOT NULL ORDER BY id",
          [open],
        )
      ).map(({ id }: { id: string }) => id);

    const holder = await lockingConnection();
    try {
      await holder.query("START TRANSACTION");
      await holder.query("SELECT id FROM referrals WHERE id = ? FOR UPDATE", [open[1]]);
      const rescoring = server.current.fitScores.rescorePartner(partner.id);
      // Rescoring never waits for a held referral while it holds others (how it closed lock cycles).
      await eventually("the referrals nobody holds are rescored", async () => (await scored()).length === 2, 15_000);
      expect(await scored()).to.deep.equal([open[0], open[2]]);
      await holder.query("ROLLBACK");
      await rescoring;
      await fitScoresSettled(server.current);
      expect(await scored()).to.deep.equal(open);
    } finally {
      await holder.end();
    }
  });

  it("sorts by fit score, best first, referrals without one last", async () => {
    const unscored = await referralFor(newcomer, retail);
    const { referrals } = await server.current.admin.data(
      `{ referrals(orderBy: { field: FIT_SCORE, direction: DESC }, first: 100) { edges { node { id fitScore } } } }`,
    );
    const scores: (number | null)[] = referrals.edges.map(({ node }: { node: { fitScore: number | null } }) => node.fitScore);
    const scored = scores.filter((score) => score !== null) as number[];
    expect(scores.slice(0, scored.length)).to.deep.equal([...scored].sort((a, b) => b - a));
    expect(scores.slice(scored.length).every((score) => score === null)).to.equal(true);
    expect(referrals.edges.map(({ node }: { node: { id: string } }) => node.id)).to.include(unscored);
  });
});
