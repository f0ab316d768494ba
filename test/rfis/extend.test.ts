import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import {
  addProfile,
  createPartner,
  expectTablesUnchanged,
  issueKeyDetails,
  ROUTED_REFERRAL_FIELDS,
  snapshotTables,
  submitRfi,
  uniqueName,
  type ProfileOptions,
  type RoutedReferral,
  type TestPartner,
} from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";

const RFI = `query($id: ID!) {
  rfi(id: $id) {
    id
    overview { region companySize keywords }
    referrals { id status partner { id } profile { id } }
    suggestedPartners { partner { id name } profile { id location } rank }
  }
}`;

const EXTEND = `mutation($rfiId: ID!, $partnerIds: [ID!]!) {
  extendRfi(rfiId: $rfiId, partnerIds: $partnerIds) { ${ROUTED_REFERRAL_FIELDS} }
}`;

const HOUR = 3600_000;

interface RfiView {
  id: string;
  overview: { region: string; companySize: string; keywords: string[] };
  referrals: { id: string; status: string; partner: { id: string }; profile: { id: string } }[];
  suggestedPartners: { partner: { id: string; name: string }; profile: { id: string; location: string }; rank: number }[];
}

/** Partners with no history answer at the neutral responsiveness 0.5, so rank = 0.75 × match + 0.125. */
function expectedRank(keywordShare: number, sizeFit: 0.5 | 1): number {
  return 0.75 * (0.7 * keywordShare + 0.3 * sizeFit) + 0.25 * 0.5;
}

describe("rfis > rfi(id), suggestedPartners and extendRfi", () => {
  const server = useTestServer();
  let intake: GraphQLClient;
  const INTAKE_LABEL = "Extension intake";

  async function view(id: string, client: GraphQLClient = intake): Promise<RfiView | null> {
    const { rfi } = await client.data<{ rfi: RfiView | null }>(RFI, { id });
    return rfi;
  }

  async function extend(rfiId: string, partnerIds: string[], client: GraphQLClient = intake): Promise<RoutedReferral[]> {
    const { extendRfi } = await client.data<{ extendRfi: RoutedReferral[] }>(EXTEND, { rfiId, partnerIds });
    return extendRfi;
  }

  /** A profile with a contact address of its own, so alerts can be told apart. Returns its id. */
  async function profileWithContact(partnerId: string, contactEmail: string, profile: ProfileOptions): Promise<string> {
    const { upsertMarketingProfile } = await server.current.admin.data(
      `mutation($partnerId: ID!, $input: MarketingProfileInput!) { upsertMarketingProfile(partnerId: $partnerId, input: $input) { id } }`,
      {
        partnerId,
        input: {
          region: profile.region ?? "FR",
          location: profile.location ?? uniqueName("Office"),
          contactEmail,
          keywords: profile.keywords ?? ["cloud"],
          preferredCompanySizes: profile.preferredCompanySizes ?? [],
          active: profile.active ?? true,
        },
      },
    );
    return upsertMarketingProfile.id;
  }

  async function referralRows(rfiId: string): Promise<{ id: string; partnerId: string; profileId: string; status: string }[]> {
    const rows = await server.current.db.query(
      `SELECT CAST(id AS CHAR) AS id, CAST(partner_id AS CHAR) AS partnerId, CAST(profile_id AS CHAR) AS profileId, status
         FROM referrals WHERE rfi_id = ? ORDER BY referrals.id`,
      [rfiId],
    );
    return rows.map((row: Record<string, unknown>) => ({ ...row }));
  }

  before(async () => {
    intake = (await issueKeyDetails(server.current, "INTAKE", undefined, INTAKE_LABEL)).api;
  });

  describe("rfi(id)", () => {
    let alpha: TestPartner;
    let beta: TestPartner;

    before(async () => {
      alpha = await createPartner(server.current, uniqueName("Read alpha"), { region: "NO", location: "Oslo" });
      beta = await createPartner(server.current, uniqueName("Read beta"), { region: "NO", location: "Bergen" });
    });

    it("shows the RFI's overview and every referral it became with its status, oldest first", async () => {
      const { rfiId, referralIds } = await submitRfi(intake, { partnerIds: [alpha.id, beta.id], region: "NO", keywords: ["erp"] });
      await beta.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: referralIds[1] });
      const rfi = (await view(rfiId))!;
      expect(rfi.id).to.equal(rfiId);
      expect(rfi.overview).to.deep.equal({ region: "NO", companySize: "SIZE_50_TO_249", keywords: ["erp"] });
      expect(rfi.referrals).to.deep.equal([
        { id: referralIds[0], status: "NEW", partner: { id: alpha.id }, profile: { id: alpha.profileId } },
        { id: referralIds[1], status: "IGNORED", partner: { id: beta.id }, profile: { id: beta.profileId } },
      ]);
      expect(Number(referralIds[0])).to.be.lessThan(Number(referralIds[1]));
    });

    it("reads the same for an ADMIN key as for an INTAKE key", async () => {
      const { rfiId } = await submitRfi(intake, { partnerIds: [alpha.id], region: "NO" });
      expect(await view(rfiId, server.current.admin)).to.deep.equal(await view(rfiId));
    });

    it("answers null for an RFI that does not exist and for ids that cannot name one", async () => {
      for (const id of ["987654321", "0", "-1", "abc", "1.5", "9".repeat(30), ""]) {
        expect(await view(id), `rfi(id: ${JSON.stringify(id)})`).to.equal(null);
      }
    });
  });

  describe("suggestedPartners", () => {
    // RFI keywords: four, so each profile's keyword share is a quarter step.
    const KEYWORDS = ["erp", "sap", "cloud", "security"];
    let targeted: TestPartner;
    let all: TestPartner;
    let multi: TestPartner;
    let multiBest: string;
    let half: TestPartner;
    let none: TestPartner;
    let rfiId: string;

    before(async () => {
      const partnerIn = (name: string, keywords: string[], extra: ProfileOptions = {}) =>
        createPartner(server.current, uniqueName(name), { region: "DE", location: uniqueName("Berlin"), keywords, ...extra });
      // The partner the RFI went to lists every keyword: it must still never be suggested.
      targeted = await partnerIn("Targeted", KEYWORDS);
      all = await partnerIn("All", ["ERP", "Sap", "CLOUD", "security"]);
      // Two profiles in the region: the partner appears once, through the better one.
      multi = await partnerIn("Multi", ["retail"]);
      multiBest = await addProfile(server.current, multi.id, { region: "DE", location: "Hamburg", keywords: ["erp", "sap", "cloud"] });
      half = await partnerIn("Half", ["erp", "sap"]);
      none = await partnerIn("None", ["retail"]);
      // Each of these lists every keyword, yet none may be suggested.
      await partnerIn("Dormant", KEYWORDS, { active: false });
      await createPartner(server.current, uniqueName("Abroad"), { region: "AT", keywords: KEYWORDS });
      await partnerIn("Too small", KEYWORDS, { preferredCompanySizes: ["SIZE_1_TO_9", "SIZE_5000_PLUS"] });
      ({ rfiId } = await submitRfi(intake, { partnerIds: [targeted.id], region: "DE", keywords: KEYWORDS, companySize: "SIZE_50_TO_249" }));
    });

    it("offers at most 3 active partners of the region not yet targeted, best keyword match first, each once through its best profile", async () => {
      const { suggestedPartners } = (await view(rfiId))!;
      expect(suggestedPartners.map(({ partner, profile }) => [partner.id, profile.id])).to.deep.equal([
        [all.id, all.profileId],
        [multi.id, multiBest],
        [half.id, half.profileId],
      ]);
      // The fourth candidate, listing no keyword, is past the limit.
      expect(suggestedPartners.map(({ partner }) => partner.id)).to.not.include(none.id);
      expect(suggestedPartners[0].partner).to.deep.equal({ id: all.id, name: all.name });
      expect(suggestedPartners[1].profile.location).to.equal("Hamburg");
    });

    it("ranks them 0..1, strictly decreasing, as automatic routing does (0.75 × match + 0.25 × responsiveness)", async () => {
      const ranks = (await view(rfiId))!.suggestedPartners.map(({ rank }) => rank);
      for (const rank of ranks) expect(rank).to.be.within(0, 1);
      for (let i = 1; i < ranks.length; i++) expect(ranks[i]).to.be.lessThan(ranks[i - 1]);
      const expected = [expectedRank(1, 0.5), expectedRank(0.75, 0.5), expectedRank(0.5, 0.5)];
      for (const [i, rank] of ranks.entries()) expect(rank).to.be.closeTo(expected[i], 1e-9);
    });

    it("suggests a partner that other RFIs targeted: only this RFI's own partners are left out", async () => {
      await submitRfi(intake, { partnerIds: [all.id, multi.id], region: "DE", keywords: KEYWORDS });
      expect((await view(rfiId))!.suggestedPartners.map(({ partner }) => partner.id)).to.deep.equal([all.id, multi.id, half.id]);
    });

    it("prefers a profile that states the RFI's size over one with no preference, and leaves out one whose sizes exclude it", async () => {
      const partnerIn = (name: string, preferredCompanySizes: string[]) =>
        createPartner(server.current, uniqueName(name), { region: "IE", keywords: ["erp"], preferredCompanySizes });
      const target = await partnerIn("Target", []);
      const anySize = await partnerIn("Any size", []);
      const stated = await partnerIn("Stated", ["SIZE_250_TO_999", "SIZE_1000_TO_4999"]);
      await partnerIn("Excluding", ["SIZE_1_TO_9"]);
      const { rfiId: sized } = await submitRfi(intake, {
        partnerIds: [target.id],
        region: "IE",
        keywords: ["erp"],
        companySize: "SIZE_250_TO_999",
      });
      const { suggestedPartners } = (await view(sized))!;
      expect(suggestedPartners.map(({ partner }) => partner.id)).to.deep.equal([stated.id, anySize.id]);
      expect(suggestedPartners[0].rank).to.be.closeTo(expectedRank(1, 1), 1e-9);
      expect(suggestedPartners[1].rank).to.be.closeTo(expectedRank(1, 0.5), 1e-9);
    });

    it("is empty when every active partner of the region is already targeted", async () => {
      const only = await createPartner(server.current, uniqueName("Only"), { region: "LU" });
      await createPartner(server.current, uniqueName("Asleep"), { region: "LU", active: false });
      const { rfiId: lonely } = await submitRfi(intake, { partnerIds: [only.id], region: "LU" });
      expect((await view(lonely))!.suggestedPartners).to.deep.equal([]);
    });
  });

  describe("extendRfi", () => {
    let first: TestPartner;
    let second: TestPartner;
    let added: TestPartner;
    let addedBest: string;
    let addedLeftOver: string;
    const ADDED_CONTACT = "new-referrals@added.example";

    before(async () => {
      first = await createPartner(server.current, uniqueName("First"), { region: "ES", location: "Madrid", keywords: ["erp", "sap"] });
      second = await createPartner(server.current, uniqueName("Second"), { region: "ES", location: "Sevilla", keywords: ["erp"] });
      // The added partner's first profile is in another region, then come an inactive one and two active ones in ES:
      // the referral must go through the active ES profile matching the RFI best.
      added = await createPartner(server.current, uniqueName("Added"), { region: "PT", location: "Lisboa", keywords: ["erp", "sap"] });
      await profileWithContact(added.id, "dormant@added.example", {
        region: "ES",
        location: "Bilbao",
        keywords: ["erp", "sap"],
        active: false,
      });
      addedLeftOver = await profileWithContact(added.id, "valencia@added.example", {
        region: "ES",
        location: "Valencia",
        keywords: ["retail"],
      });
      addedBest = await profileWithContact(added.id, ADDED_CONTACT, { region: "ES", location: "Barcelona", keywords: ["ERP", "SAP"] });
    });

    /** An RFI in ES sent to the first partner, which then passes on it. */
    async function passedRfi(): Promise<string> {
      const { rfiId, referralIds } = await submitRfi(intake, { partnerIds: [first.id], region: "ES", keywords: ["erp", "sap"] });
      await first.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: referralIds[0] });
      return rfiId;
    }

    it("creates one NEW referral per named partner, duplicates collapsing, through each partner's best active profile in the region", async () => {
      const rfiId = await passedRfi();
      const referrals = await extend(rfiId, [added.id, second.id, added.id, second.id]);
      expect(referrals.map(({ partner, profile }) => [partner.id, profile.id])).to.deep.equal([
        [added.id, addedBest],
        [second.id, second.profileId],
      ]);
      for (const referral of referrals) {
        expect(referral).to.include({ status: "NEW", version: 1 });
        expect(referral.profile).to.deep.include({ region: "ES", active: true });
      }
      expect((await referralRows(rfiId)).map(({ partnerId, profileId, status }) => [partnerId, profileId, status])).to.deep.equal([
        [first.id, first.profileId, "IGNORED"],
        [added.id, addedBest, "NEW"],
        [second.id, second.profileId, "NEW"],
      ]);
      expect(addedLeftOver).to.not.equal(addedBest);
    });

    it("gives each new referral its arrival event, a deadline 72 hours after arrival, and an alert to its profile's contact", async () => {
      const rfiId = await passedRfi();
      const started = Date.now();
      const [referral] = await extend(rfiId, [added.id]);
      expect(referral.events).to.deep.equal([{ action: "RECEIVE", from: null, to: "NEW", actor: INTAKE_LABEL, note: null }]);
      const received = new Date(referral.receivedAt).getTime();
      expect(received).to.be.within(started - 1000, Date.now() + 1000);
      expect(new Date(referral.respondBy).getTime() - received).to.equal(72 * HOUR);

      const events = await server.current.db.query("SELECT action, from_status, to_status FROM referral_events WHERE referral_id = ?", [
        referral.id,
      ]);
      expect(events.map((row: Record<string, unknown>) => ({ ...row }))).to.deep.equal([
        { action: "RECEIVE", from_status: null, to_status: "NEW" },
      ]);
      // Derived from the arrival event once it is placed.
      await server.current.sequencer.settle();
      const outbox = await server.current.db.query(
        "SELECT kind, CAST(referral_id AS CHAR) AS referralId, recipient, channel FROM outbox_messages WHERE referral_id = ?",
        [referral.id],
      );
      expect(outbox.map((row: Record<string, unknown>) => ({ ...row }))).to.deep.equal([
        { kind: "NEW_REFERRAL", referralId: referral.id, recipient: ADDED_CONTACT, channel: "email" },
      ]);
    });

    it("shows the new referral in rfi(id).referrals and no longer suggests its partner", async () => {
      const rfiId = await passedRfi();
      const before = (await view(rfiId))!;
      expect(before.referrals.map(({ partner, status }) => [partner.id, status])).to.deep.equal([[first.id, "IGNORED"]]);
      expect(before.suggestedPartners.map(({ partner }) => partner.id)).to.include.members([added.id, second.id]);
      expect(before.suggestedPartners.find(({ partner }) => partner.id === added.id)!.profile.id).to.equal(addedBest);

      const [referral] = await extend(rfiId, [added.id]);
      const after = (await view(rfiId))!;
      expect(after.referrals).to.deep.equal([
        before.referrals[0],
        { id: referral.id, status: "NEW", partner: { id: added.id }, profile: { id: addedBest } },
      ]);
      expect(after.suggestedPartners.map(({ partner }) => partner.id)).to.not.include(added.id);
      expect(after.suggestedPartners.map(({ partner }) => partner.id)).to.include(second.id);
    });

    it("shows the new referral to the added partner's key, and not to the key of the partner that passed", async () => {
      const rfiId = await passedRfi();
      const [referral] = await extend(rfiId, [added.id]);
      const LIST = `{ referrals(first: 100) { edges { node { id } } } }`;
      const ids = async (client: GraphQLClient) =>
        (await client.data(LIST)).referrals.edges.map((edge: { node: { id: string } }) => edge.node.id);
      expect(await ids(added.api)).to.include(referral.id);
      expect(await ids(first.api)).to.not.include(referral.id);
      const ONE = `query($id: ID!) { referral(id: $id) { id } }`;
      expect((await added.api.data(ONE, { id: referral.id })).referral).to.deep.equal({ id: referral.id });
      expect((await first.api.data(ONE, { id: referral.id })).referral).to.equal(null);
    });

    it("accepts an ADMIN key, recording the admin as the actor", async () => {
      const rfiId = await passedRfi();
      const [referral] = await extend(rfiId, [second.id], server.current.admin);
      expect(referral.partner.id).to.equal(second.id);
      expect(referral.events[0].actor).to.equal("ADMIN_API_KEY");
    });

    it("refuses a partner the RFI already targets with BAD_USER_INPUT naming it, and creates nothing, even beside a new partner", async () => {
      const rfiId = await passedRfi();
      await extend(rfiId, [second.id]);
      for (const [already, partnerIds] of [
        [first.id, [first.id]], // targeted at submission (and passed)
        [second.id, [second.id]], // targeted by an earlier extension
        [first.id, [added.id, first.id]], // beside a partner that would be accepted
      ] as const) {
        const before = await snapshotTables(server.current);
        const refused = await intake.error(EXTEND, { rfiId, partnerIds });
        expect(refused).to.include({
          code: "BAD_USER_INPUT",
          message: `partnerIds: partner ${already} is already targeted by RFI ${rfiId}`,
        });
        await expectTablesUnchanged(server.current, before);
      }
    });

    for (const [what, setUp] of [
      [
        "whose only profile in the region is inactive",
        async () => (await createPartner(server.current, uniqueName("Dormant"), { region: "ES", active: false })).id,
      ],
      [
        "whose only profile is in another region",
        async () => (await createPartner(server.current, uniqueName("Abroad"), { region: "FR" })).id,
      ],
      ["that does not exist", async () => "987654321"],
      ["whose id cannot name a partner", async () => "not-an-id"],
    ] as const) {
      it(`refuses a partner ${what} with BAD_USER_INPUT naming it, and creates nothing`, async () => {
        const rfiId = await passedRfi();
        const unfit = await setUp();
        const before = await snapshotTables(server.current);
        const refused = await intake.error(EXTEND, { rfiId, partnerIds: [added.id, unfit] });
        expect(refused).to.include({
          code: "BAD_USER_INPUT",
          message: `partnerIds: partner ${unfit} has no active marketing profile in ES`,
        });
        await expectTablesUnchanged(server.current, before);
      });
    }

    it("refuses an RFI that does not exist with NOT_FOUND, and creates nothing", async () => {
      const before = await snapshotTables(server.current);
      for (const rfiId of ["987654321", "abc"]) {
        const refused = await intake.error(EXTEND, { rfiId, partnerIds: [added.id] });
        expect(refused).to.include({ code: "NOT_FOUND", message: `RFI ${rfiId} not found` });
      }
      await expectTablesUnchanged(server.current, before);
    });

    it("refuses an empty list of partners with BAD_USER_INPUT, and creates nothing", async () => {
      const rfiId = await passedRfi();
      const before = await snapshotTables(server.current);
      const refused = await intake.error(EXTEND, { rfiId, partnerIds: [] });
      expect(refused).to.include({ code: "BAD_USER_INPUT", message: "partnerIds: must name at least one partner" });
      await expectTablesUnchanged(server.current, before);
    });
  });

  describe("extendRfi, concurrently", () => {
    let first: TestPartner;
    let racers: TestPartner[];

    before(async () => {
      first = await createPartner(server.current, uniqueName("Raced first"), { region: "IT" });
      racers = [];
      for (let i = 0; i < 5; i++) racers.push(await createPartner(server.current, uniqueName(`Racer ${i}`), { region: "IT" }));
    });

    it("lets exactly one of 10 concurrent extensions to the same partner through; the others get BAD_USER_INPUT naming it", async () => {
      const { rfiId } = await submitRfi(intake, { partnerIds: [first.id], region: "IT" });
      const [racer] = racers;
      const responses = await Promise.all(Array.from({ length: 10 }, () => intake.request(EXTEND, { rfiId, partnerIds: [racer.id] })));
      const succeeded = responses.filter((response) => response.errors === undefined);
      const refused = responses.filter((response) => response.errors !== undefined);
      expect(succeeded, JSON.stringify(refused.map((response) => response.errors))).to.have.length(1);

      // The unique index on RFI and partner decides: one referral, one arrival event, one alert.
      const rows = await referralRows(rfiId);
      const winner = (succeeded[0].data as { extendRfi: RoutedReferral[] }).extendRfi[0];
      expect(rows.map(({ id, partnerId }) => [id, partnerId])).to.deep.equal([
        [rows[0].id, first.id],
        [winner.id, racer.id],
      ]);
      const [{ events }] = await server.current.db.query("SELECT COUNT(*) AS events FROM referral_events WHERE referral_id = ?", [
        winner.id,
      ]);
      // The alert is derived from the arrival once it is placed (after the burst of 10, which holds placement).
      await server.current.sequencer.settle();
      const [{ alerts }] = await server.current.db.query(
        "SELECT COUNT(*) AS alerts FROM outbox_messages WHERE kind = 'NEW_REFERRAL' AND referral_id = ?",
        [winner.id],
      );
      expect([Number(events), Number(alerts)]).to.deep.equal([1, 1]);

      // Every loser is told why, naming the partner: never an internal error.
      const expected = { code: "BAD_USER_INPUT", message: `partnerIds: partner ${racer.id} is already targeted by RFI ${rfiId}` };
      expect(refused.map(({ errors }) => errors!.map((error) => ({ code: error.extensions?.code, message: error.message })))).to.deep.equal(
        Array.from({ length: 9 }, () => [expected]),
      );
    });

    it("lets concurrent extensions to different partners all through", async () => {
      const { rfiId } = await submitRfi(intake, { partnerIds: [first.id], region: "IT" });
      const others = racers.slice(1);
      const results = await Promise.all(others.map((racer) => extend(rfiId, [racer.id])));
      expect(results.map(([referral]) => referral.partner.id)).to.deep.equal(others.map((racer) => racer.id));
      expect((await referralRows(rfiId)).map(({ partnerId }) => partnerId).sort()).to.deep.equal(
        [first.id, ...others.map((racer) => racer.id)].sort(),
      );
    });
  });
});
