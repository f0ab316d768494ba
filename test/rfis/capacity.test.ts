import { expect } from "chai";
import { createPartner, daysFromToday, issueKey, rfiInput, SUBMIT_RFI, submitRfi, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import type { GraphQLClient } from "../support/client.js";

const PROFILE = `id maxOpenReferrals pausedUntil openReferrals`;
const UPSERT = `mutation($partnerId: ID!, $id: ID, $input: MarketingProfileInput!) {
  upsertMarketingProfile(partnerId: $partnerId, id: $id, input: $input) { ${PROFILE} }
}`;

interface Profile {
  id: string;
  maxOpenReferrals: number | null;
  pausedUntil: string | null;
  openReferrals: number;
}

const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

/** The profile input the tests' partners were created with (createPartner's defaults) in `region`, plus `changes`. */
const profileInput = (region: string, changes: Record<string, unknown> = {}) => ({
  region,
  location: "Paris",
  contactEmail: "referrals@partner.example",
  keywords: ["cloud", "data"],
  preferredCompanySizes: [],
  ...changes,
});

describe("routing > capacity and pauses", function () {
  this.timeout(60_000);
  const server = useTestServer();
  let intake: GraphQLClient;

  before(async () => {
    intake = await issueKey(server.current, "INTAKE");
  });

  /** Updates the partner's profile with the fields of a profile input it was created with, plus `changes`. */
  /** Updates the partner's profile in `region` with `changes`. */
  async function updateProfile(partner: TestPartner, changes: Record<string, unknown>, region = "FR"): Promise<Profile> {
    const { upsertMarketingProfile } = await server.current.admin.data(UPSERT, {
      partnerId: partner.id,
      id: partner.profileId,
      input: profileInput(region, changes),
    });
    return upsertMarketingProfile;
  }

  async function openCount(partner: TestPartner): Promise<{ counter: number; recount: number }> {
    const [{ counter }] = await server.current.db.query("SELECT open_referrals AS counter FROM marketing_profiles WHERE id = ?", [
      partner.profileId,
    ]);
    const [{ recount }] = await server.current.db.query(
      "SELECT COUNT(*) AS recount FROM referrals WHERE profile_id = ? AND status IN ('NEW', 'EVALUATING')",
      [partner.profileId],
    );
    return { counter: Number(counter), recount: Number(recount) };
  }

  describe("the open count", () => {
    it("counts an arrival, keeps it through interest, and lets it go at No thanks, decline, accept and a lapsed deadline", async () => {
      const partner = await createPartner(server.current, undefined, { region: "IE" });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await submitRfi(intake, { partnerIds: [partner.id], region: "IE" })).referralIds[0]);
      const act = (mutation: string, id: string) => partner.api.data(`mutation($id: ID!) { ${mutation} }`, { id });
      const seen: number[] = [(await openCount(partner)).counter];
      await act("expressInterest(id: $id) { id }", ids[0]);
      seen.push((await openCount(partner)).counter);
      await act("ignoreReferral(id: $id) { id }", ids[1]);
      seen.push((await openCount(partner)).counter);
      await act("declineReferral(id: $id) { id }", ids[0]);
      seen.push((await openCount(partner)).counter);
      await act("expressInterest(id: $id) { id }", ids[2]);
      await act(
        `acceptReferral(id: $id, input: { estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "${daysFromToday(30)}" }) { id }`,
        ids[2],
      );
      seen.push((await openCount(partner)).counter);
      await server.current.db.query("UPDATE referrals SET respond_by = NOW(3) - INTERVAL 1 MINUTE WHERE id = ?", [ids[3]]);
      await server.current.deadlines.sweep();
      seen.push((await openCount(partner)).counter);
      expect(seen).to.deep.equal([4, 4, 3, 2, 1, 0]);
      expect(await openCount(partner)).to.deep.equal({ counter: 0, recount: 0 });
    });

    it("is shown on the profile, with its limit and pause", async () => {
      const partner = await createPartner(server.current, undefined, { region: "IE" });
      await submitRfi(intake, { partnerIds: [partner.id], region: "IE" });
      const until = inADay();
      const profile = await updateProfile(partner, { maxOpenReferrals: 7, pausedUntil: until }, "IE");
      expect(profile).to.deep.equal({ id: partner.profileId, maxOpenReferrals: 7, pausedUntil: until, openReferrals: 1 });
    });
  });

  describe("automatic routing", () => {
    it("skips a full profile and a paused one; a customer may still name them", async () => {
      const full = await createPartner(server.current, undefined, { region: "PT" });
      const paused = await createPartner(server.current, undefined, { region: "PT" });
      const open = await createPartner(server.current, undefined, { region: "PT" });
      await updateProfile(full, { maxOpenReferrals: 1 }, "PT");
      await updateProfile(paused, { pausedUntil: inADay() }, "PT");
      const routedTo = async () => {
        const { submitRfi: submitted } = await intake.data(SUBMIT_RFI, { input: rfiInput({ region: "PT", maxPartners: 3 }) });
        return submitted.referrals.map((referral: { partner: { id: string } }) => referral.partner.id).sort();
      };
      expect(await routedTo()).to.deep.equal([full.id, open.id].sort());
      expect(await routedTo(), "the full one is left out").to.deep.equal([open.id]);

      const chosen = await submitRfi(intake, { region: "PT", partnerIds: [full.id, paused.id] });
      expect(chosen.referralIds).to.have.length(2);
      expect(await openCount(full)).to.deep.equal({ counter: 2, recount: 2 });
    });

    it("suggests neither a full nor a paused profile to a customer", async () => {
      const full = await createPartner(server.current, undefined, { region: "AT" });
      const paused = await createPartner(server.current, undefined, { region: "AT" });
      const open = await createPartner(server.current, undefined, { region: "AT" });
      const first = await createPartner(server.current, undefined, { region: "AT" });
      await updateProfile(full, { maxOpenReferrals: 1 }, "AT");
      await submitRfi(intake, { region: "AT", partnerIds: [full.id] });
      await updateProfile(paused, { pausedUntil: inADay() }, "AT");
      const { rfiId } = await submitRfi(intake, { region: "AT", partnerIds: [first.id] });
      const { rfi } = await intake.data(`query($id: ID!) { rfi(id: $id) { suggestedPartners { partner { id } } } }`, { id: rfiId });
      expect(rfi.suggestedPartners.map((suggestion: { partner: { id: string } }) => suggestion.partner.id)).to.deep.equal([open.id]);
    });

    it("never fills a profile past its limit, however many RFIs arrive at once (a compare-and-set on the count)", async () => {
      const partner = await createPartner(server.current, undefined, { region: "DK" });
      await updateProfile(partner, { maxOpenReferrals: 5 }, "DK");
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => intake.request(SUBMIT_RFI, { input: rfiInput({ region: "DK", maxPartners: 1 }) })),
      );
      const codes = answers.map((answer) => (answer.errors ? String(answer.errors[0].extensions?.code) : "routed"));
      expect(
        codes.filter((code) => code === "routed"),
        codes.join(),
      ).to.have.length(5);
      expect(codes.filter((code) => code !== "routed" && code !== "BAD_USER_INPUT" && code !== "SERVICE_UNAVAILABLE")).to.deep.equal([]);
      expect(await openCount(partner)).to.deep.equal({ counter: 5, recount: 5 });
    });
  });

  describe("the profile's settings", () => {
    it("refuses a limit outside 1 to 10,000 and a pause in the past or more than a year ahead, changing nothing", async () => {
      const partner = await createPartner(server.current, undefined, { region: "IE" });
      const refusals: [Record<string, unknown>, string][] = [
        [{ maxOpenReferrals: 0 }, "input.maxOpenReferrals"],
        [{ maxOpenReferrals: 10_001 }, "input.maxOpenReferrals"],
        [{ pausedUntil: new Date(Date.now() - 60_000).toISOString() }, "input.pausedUntil: must be in the future"],
        [{ pausedUntil: new Date(Date.now() + 400 * 86_400_000).toISOString() }, "input.pausedUntil: must be at most a year ahead"],
      ];
      for (const [changes, message] of refusals) {
        const input = profileInput("IE", changes);
        const refused = await server.current.admin.error(UPSERT, { partnerId: partner.id, id: partner.profileId, input });
        expect(refused.code, JSON.stringify(changes)).to.equal("BAD_USER_INPUT");
        expect(refused.message, JSON.stringify(changes)).to.include(message);
      }
      const [row] = await server.current.db.query(
        "SELECT max_open_referrals AS max, paused_until AS until FROM marketing_profiles WHERE id = ?",
        [partner.profileId],
      );
      expect({ ...row }).to.deep.equal({ max: null, until: null });
    });

    it("keeps the limit and pause when an update omits them, and clears them with null", async () => {
      const partner = await createPartner(server.current, undefined, { region: "IE" });
      const until = inADay();
      await updateProfile(partner, { maxOpenReferrals: 3, pausedUntil: until }, "IE");
      const kept = await updateProfile(partner, { keywords: ["erp"] }, "IE");
      expect([kept.maxOpenReferrals, kept.pausedUntil]).to.deep.equal([3, until]);
      const cleared = await updateProfile(partner, { maxOpenReferrals: null, pausedUntil: null }, "IE");
      expect([cleared.maxOpenReferrals, cleared.pausedUntil]).to.deep.equal([null, null]);
    });

    it("lets a partner set its own profile's limit, never another partner's", async () => {
      const own = await createPartner(server.current, undefined, { region: "IE" });
      const other = await createPartner(server.current, undefined, { region: "IE" });
      const input = profileInput("IE", { maxOpenReferrals: 2 });
      const { upsertMarketingProfile } = await own.api.data(UPSERT, { partnerId: own.id, id: own.profileId, input });
      expect(upsertMarketingProfile.maxOpenReferrals).to.equal(2);
      const refused = await own.api.error(UPSERT, { partnerId: other.id, id: other.profileId, input });
      expect(refused.code).to.equal("NOT_FOUND");
      const [{ max }] = await server.current.db.query("SELECT max_open_referrals AS max FROM marketing_profiles WHERE id = ?", [
        other.profileId,
      ]);
      expect(max).to.equal(null);
    });
  });
});
