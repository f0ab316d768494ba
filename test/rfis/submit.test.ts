import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import {
  addProfile,
  answeredAndStored,
  createPartner,
  issueKey,
  issueKeyDetails,
  rfiInput,
  ROUTED_REFERRAL_FIELDS,
  uniqueName,
  type RfiOptions,
  type RoutedReferral,
  type TestPartner,
} from "../support/fixtures.js";
import { CandidateReads } from "../../src/rfis/candidate-reads.js";
import { useTestServer, type TestServer } from "../support/harness.js";

const SUBMIT = `mutation($input: SubmitRfiInput!) {
  submitRfi(input: $input) {
    rfi { id overview { need companySize region keywords } }
    referrals { ${ROUTED_REFERRAL_FIELDS} }
  }
}`;

const HOUR = 3600_000;

interface Submitted {
  rfi: { id: string; overview: { need: string; companySize: string; region: string; keywords: string[] } };
  referrals: RoutedReferral[];
}

async function submit(client: GraphQLClient, options: RfiOptions): Promise<Submitted> {
  const { submitRfi } = await client.data<{ submitRfi: Submitted }>(SUBMIT, { input: rfiInput(options) });
  return submitRfi;
}

/** Partner id -> profile id of the referrals, whatever their order. */
function targetsOf(submitted: Submitted): Record<string, string> {
  return Object.fromEntries(submitted.referrals.map((referral) => [referral.partner.id, referral.profile.id]));
}

describe("rfis > submitRfi", () => {
  const server = useTestServer();
  let intake: GraphQLClient;
  const INTAKE_LABEL = "Marketplace intake";

  async function count(sql: string, params: unknown[] = []): Promise<number> {
    const [{ n }] = await server.current.db.query(`SELECT COUNT(*) AS n FROM ${sql}`, params);
    return Number(n);
  }

  /** Rows of every table submitRfi writes, to prove a refusal wrote nothing. */
  async function writtenRows() {
    return {
      rfis: await count("rfis"),
      referrals: await count("referrals"),
      events: await count("referral_events"),
      idempotency: await count("idempotency_records"),
    };
  }

  before(async () => {
    intake = (await issueKeyDetails(server.current, "INTAKE", undefined, INTAKE_LABEL)).api;
  });

  describe("to named partners", () => {
    let alpha: TestPartner;
    let beta: TestPartner;
    let betaParis: string;

    before(async () => {
      alpha = await createPartner(server.current, uniqueName("Alpha"), { region: "FR", location: "Paris" });
      // Beta's first profile in FR is inactive, another is in DE: only the third may receive FR referrals.
      beta = await createPartner(server.current, uniqueName("Beta"), { region: "FR", location: "Lyon", active: false });
      await addProfile(server.current, beta.id, { region: "DE", location: "Berlin" });
      betaParis = await addProfile(server.current, beta.id, { region: "FR", location: "Paris" });
    });

    it("creates exactly one referral per named partner, duplicates collapsing, each on its active profile in the region", async () => {
      const submitted = await submit(intake, { partnerIds: [alpha.id, beta.id, alpha.id, beta.id], region: "FR" });
      expect(submitted.referrals).to.have.length(2);
      expect(targetsOf(submitted)).to.deep.equal({ [alpha.id]: alpha.profileId, [beta.id]: betaParis });
      for (const referral of submitted.referrals) {
        expect(referral.profile).to.deep.include({ region: "FR", active: true });
        expect(referral).to.include({ status: "NEW", version: 1 });
      }
      expect(await count("referrals WHERE rfi_id = ?", [submitted.rfi.id])).to.equal(2);
      expect(await count("rfis WHERE id = ?", [submitted.rfi.id])).to.equal(1);
    });

    it("sends the referral through the named partner's best-matching profile when it has several in the region", async () => {
      const gamma = await createPartner(server.current, uniqueName("Gamma"), { region: "FR", location: "Nice", keywords: ["retail"] });
      const gammaErp = await addProfile(server.current, gamma.id, { region: "FR", location: "Lille", keywords: ["ERP", "cloud"] });
      const submitted = await submit(intake, { partnerIds: [gamma.id], region: "FR", keywords: ["erp"] });
      expect(targetsOf(submitted)).to.deep.equal({ [gamma.id]: gammaErp });
    });

    it("gives each referral its arrival event and a deadline 72 hours after arrival", async () => {
      const started = Date.now();
      const submitted = await submit(intake, { partnerIds: [alpha.id, beta.id], region: "FR" });
      for (const referral of submitted.referrals) {
        expect(referral.events).to.deep.equal([{ action: "RECEIVE", from: null, to: "NEW", actor: INTAKE_LABEL, note: null }]);
        const received = new Date(referral.receivedAt).getTime();
        expect(received).to.be.within(started - 1000, Date.now() + 1000);
        expect(new Date(referral.respondBy).getTime() - received).to.equal(72 * HOUR);
      }
      const rows = await server.current.db.query(
        `SELECT e.referral_id, e.action, e.from_status, e.to_status FROM referral_events e
           JOIN referrals r ON r.id = e.referral_id WHERE r.rfi_id = ? ORDER BY e.referral_id`,
        [submitted.rfi.id],
      );
      expect(
        rows.map((row: Record<string, unknown>) => [String(row.referral_id), row.action, row.from_status, row.to_status]),
      ).to.deep.equal(
        submitted.referrals
          .map((referral) => referral.id)
          .sort((a, b) => Number(a) - Number(b))
          .map((id) => [id, "RECEIVE", null, "NEW"]),
      );
    });

    for (const [what, setUp] of [
      [
        "whose only profile in the region is inactive",
        (s: TestServer) => createPartner(s, uniqueName("Dormant"), { region: "FR", active: false }),
      ],
      [
        "whose only profile is in another region",
        (s: TestServer) => createPartner(s, uniqueName("Abroad"), { region: "ES", location: "Madrid" }),
      ],
    ] as const) {
      it(`refuses a named partner ${what} with BAD_USER_INPUT naming it, and creates nothing`, async () => {
        const unfit = await setUp(server.current);
        const before = await writtenRows();
        const refused = await intake.error(SUBMIT, {
          input: rfiInput({ partnerIds: [alpha.id, unfit.id], region: "FR", idempotencyKey: uniqueName("refused") }),
        });
        expect(refused).to.include({
          code: "BAD_USER_INPUT",
          message: `input.partnerIds: partner ${unfit.id} has no active marketing profile in FR`,
        });
        expect(await writtenRows()).to.deep.equal(before);
      });
    }

    it("refuses a named partner that does not exist with BAD_USER_INPUT naming it, and creates nothing", async () => {
      const before = await writtenRows();
      const refused = await intake.error(SUBMIT, { input: rfiInput({ partnerIds: ["987654321", alpha.id], region: "FR" }) });
      expect(refused).to.include({
        code: "BAD_USER_INPUT",
        message: "input.partnerIds: partner 987654321 has no active marketing profile in FR",
      });
      expect(await writtenRows()).to.deep.equal(before);
    });

    it("accepts INTAKE and ADMIN keys, and refuses PARTNER and ANALYST keys with FORBIDDEN", async () => {
      const byAdmin = await submit(server.current.admin, { partnerIds: [alpha.id], region: "FR" });
      expect(byAdmin.referrals.map((referral) => referral.partner.id)).to.deep.equal([alpha.id]);
      expect(byAdmin.referrals[0].events[0].actor).to.equal("ADMIN_API_KEY");
      const byIntake = await submit(intake, { partnerIds: [alpha.id], region: "FR" });
      expect(byIntake.referrals.map((referral) => referral.partner.id)).to.deep.equal([alpha.id]);

      const analyst = await issueKey(server.current, "ANALYST");
      const before = await writtenRows();
      for (const refusedClient of [alpha.api, analyst]) {
        const refused = await refusedClient.error(SUBMIT, { input: rfiInput({ partnerIds: [alpha.id], region: "FR" }) });
        expect(refused.code).to.equal("FORBIDDEN");
      }
      expect(await writtenRows()).to.deep.equal(before);
    });
  });

  describe("routed automatically", () => {
    /** A partner with one profile; each test uses a region of its own, so other tests' profiles never compete. */
    async function partnerIn(region: string, keywords: string[], extra: { preferredCompanySizes?: string[]; active?: boolean } = {}) {
      return createPartner(server.current, uniqueName(`Routed ${keywords.join("+") || "none"}`), { region, keywords, ...extra });
    }

    it("picks the profiles with the most keyword overlap in the region, case-insensitively, at most 3 by default", async () => {
      const three = await partnerIn("BE", ["CLOUD", "sap", "Security"]);
      const one = await partnerIn("BE", ["Cloud"]);
      const two = await partnerIn("BE", ["cloud", "SAP"]);
      await partnerIn("BE", ["logistics"]);
      await partnerIn("BE", ["Retail"]);
      const submitted = await submit(intake, { region: "BE", keywords: ["cloud", "SAP", "security"] });
      expect(targetsOf(submitted)).to.deep.equal({ [three.id]: three.profileId, [two.id]: two.profileId, [one.id]: one.profileId });
    });

    it("routes to at most maxPartners partners, keeping the best", async () => {
      const best = await partnerIn("NL", ["erp", "sap", "cloud"]);
      const second = await partnerIn("NL", ["erp", "sap"]);
      await partnerIn("NL", ["erp"]);
      await partnerIn("NL", ["erp"]);
      const two = await submit(intake, { region: "NL", keywords: ["ERP", "SAP", "Cloud"], maxPartners: 2 });
      expect(targetsOf(two)).to.deep.equal({ [best.id]: best.profileId, [second.id]: second.profileId });
      const one = await submit(intake, { region: "NL", keywords: ["ERP", "SAP", "Cloud"], maxPartners: 1 });
      expect(targetsOf(one)).to.deep.equal({ [best.id]: best.profileId });
    });

    it("never routes to inactive profiles, to other regions, or to profiles whose preferred sizes exclude the RFI's", async () => {
      await partnerIn("PT", ["iot", "edge"], { active: false });
      await partnerIn("ES", ["iot", "edge"]);
      await partnerIn("PT", ["iot", "edge"], { preferredCompanySizes: ["SIZE_1_TO_9", "SIZE_5000_PLUS"] });
      const fit = await partnerIn("PT", ["iot"], { preferredCompanySizes: ["SIZE_10_TO_49", "SIZE_50_TO_249"] });
      const submitted = await submit(intake, { region: "PT", keywords: ["iot", "edge"], companySize: "SIZE_50_TO_249", maxPartners: 10 });
      expect(targetsOf(submitted)).to.deep.equal({ [fit.id]: fit.profileId });
    });

    it("prefers a profile that states the RFI's size over one with no size preference", async () => {
      await partnerIn("IT", ["erp"]);
      const sized = await partnerIn("IT", ["erp"], { preferredCompanySizes: ["SIZE_250_TO_999"] });
      const submitted = await submit(intake, { region: "IT", keywords: ["erp"], companySize: "SIZE_250_TO_999", maxPartners: 1 });
      expect(targetsOf(submitted)).to.deep.equal({ [sized.id]: sized.profileId });
    });

    it("sends one referral per partner even when several of its profiles match, through its best one", async () => {
      const multi = await partnerIn("AT", ["iot"]);
      const multiBest = await addProfile(server.current, multi.id, { region: "AT", location: "Graz", keywords: ["IoT", "Edge"] });
      const other = await partnerIn("AT", ["iot"]);
      const submitted = await submit(intake, { region: "AT", keywords: ["iot", "edge"], maxPartners: 2 });
      expect(submitted.referrals).to.have.length(2);
      expect(targetsOf(submitted)).to.deep.equal({ [multi.id]: multiBest, [other.id]: other.profileId });
    });

    it("answers each of 30 concurrent RFIs with the referrals stored for it: ids, partners and profiles", async () => {
      const partners = await Promise.all([["erp"], ["erp", "sap"], ["erp", "sap", "cloud"]].map((keywords) => partnerIn("MT", keywords)));
      const answers = await Promise.all(
        Array.from({ length: 30 }, () => submit(intake, { region: "MT", keywords: ["erp", "sap", "cloud"], maxPartners: 3 })),
      );
      const { answered, stored } = await answeredAndStored(server.current, answers);
      expect(answered).to.deep.equal(stored);
      expect(new Set(stored.map((row) => row.partnerId))).to.deep.equal(new Set(partners.map((partner) => partner.id)));
    });

    it("shares a region's read among RFIs arriving together, and keeps nothing once it is done", async () => {
      const reads = new CandidateReads(server.current.db);
      const first = reads.of("MT");
      expect(reads.of("MT")).to.equal(first);
      expect(reads.of("BE")).to.not.equal(first);
      await first;
      expect(reads.of("MT")).to.not.equal(first);
    });

    it("routes on the profiles as they are when the RFI arrives: one deactivated since the last RFI gets nothing", async () => {
      const kept = await partnerIn("CY", ["erp"]);
      const dropped = await partnerIn("CY", ["erp", "sap"]);
      expect(targetsOf(await submit(intake, { region: "CY", keywords: ["erp", "sap"] }))).to.have.keys(kept.id, dropped.id);
      await server.current.db.query("UPDATE marketing_profiles SET active = 0 WHERE id = ?", [dropped.profileId]);
      expect(targetsOf(await submit(intake, { region: "CY", keywords: ["erp", "sap"] }))).to.have.keys(kept.id);
    });

    it("refuses an RFI no active profile in the region takes with BAD_USER_INPUT, and creates nothing", async () => {
      await partnerIn("CH", ["erp"], { active: false });
      const before = await writtenRows();
      const refused = await intake.error(SUBMIT, { input: rfiInput({ region: "CH", keywords: ["erp"] }) });
      expect(refused).to.include({ code: "BAD_USER_INPUT", message: "input.region: no active marketing profile in CH takes this RFI" });
      expect(await writtenRows()).to.deep.equal(before);
    });
  });

  describe("with an idempotency key", () => {
    let alpha: TestPartner;
    let beta: TestPartner;

    before(async () => {
      alpha = await createPartner(server.current, uniqueName("Idem alpha"), { region: "DK" });
      beta = await createPartner(server.current, uniqueName("Idem beta"), { region: "DK" });
    });

    function input(idempotencyKey: string, need: string) {
      return rfiInput({ idempotencyKey, need, region: "DK", partnerIds: [alpha.id, beta.id] });
    }

    async function stored(need: string) {
      const rfis = await server.current.db.query("SELECT id FROM rfis WHERE need = ?", [need]);
      const referrals = await server.current.db.query(
        "SELECT r.id FROM referrals r JOIN rfis f ON f.id = r.rfi_id WHERE f.need = ? ORDER BY r.id",
        [need],
      );
      const events = await count(
        "referral_events e JOIN referrals r ON r.id = e.referral_id JOIN rfis f ON f.id = r.rfi_id WHERE f.need = ?",
        [need],
      );
      return {
        rfiIds: rfis.map((row: { id: unknown }) => String(row.id)),
        referralIds: referrals.map((row: { id: unknown }) => String(row.id)),
        events,
      };
    }

    it("returns the first submission's RFI and referrals to a retry with the same key and input", async () => {
      const key = uniqueName("retry");
      const need = uniqueName("Retried need");
      const first = await intake.data(SUBMIT, { input: input(key, need) });
      const retry = await intake.data(SUBMIT, { input: input(key, need) });
      expect(retry).to.deep.equal(first);
      expect(first.submitRfi.referrals).to.have.length(2);
      expect(await stored(need)).to.deep.equal({
        rfiIds: [first.submitRfi.rfi.id],
        referralIds: first.submitRfi.referrals
          .map((referral: { id: string }) => referral.id)
          .sort((a: string, b: string) => Number(a) - Number(b)),
        events: 2,
      });
    });

    it("refuses the same key with different input with BAD_USER_INPUT, and creates nothing", async () => {
      const key = uniqueName("reused");
      const need = uniqueName("First need");
      await intake.data(SUBMIT, { input: input(key, need) });
      const before = await writtenRows();
      const otherNeed = uniqueName("Other need");
      const refused = await intake.error(SUBMIT, { input: input(key, otherNeed) });
      expect(refused.code).to.equal("BAD_USER_INPUT");
      expect(refused.message).to.match(/^input\.idempotencyKey: /);
      expect(await writtenRows()).to.deep.equal(before);
      expect((await stored(otherNeed)).rfiIds).to.deep.equal([]);
    });

    it("creates exactly one RFI and one set of referrals under 20 concurrent retries, all answered with it", async () => {
      const key = uniqueName("race");
      const need = uniqueName("Raced need");
      const responses = await Promise.all(Array.from({ length: 20 }, () => intake.request(SUBMIT, { input: input(key, need) })));
      for (const response of responses) expect(response.errors, JSON.stringify(response.errors)).to.equal(undefined);
      const first = responses[0].data!.submitRfi;
      expect(first.referrals).to.have.length(2);
      for (const response of responses) expect(response.data).to.deep.equal(responses[0].data);
      expect(await stored(need)).to.deep.equal({
        rfiIds: [first.rfi.id],
        referralIds: first.referrals.map((referral: { id: string }) => referral.id).sort((a: string, b: string) => Number(a) - Number(b)),
        events: 2,
      });
      expect(await count("idempotency_records WHERE idempotency_key = ?", [key])).to.equal(1);
    });

    it("keeps the idempotency keys of different API keys apart", async () => {
      const otherIntake = await issueKey(server.current, "INTAKE");
      const key = uniqueName("shared");
      const need = uniqueName("Shared need");
      const mine = await intake.data(SUBMIT, { input: input(key, need) });
      const theirs = await otherIntake.data(SUBMIT, { input: input(key, need) });
      expect(theirs.submitRfi.rfi.id).to.not.equal(mine.submitRfi.rfi.id);
      expect((await stored(need)).rfiIds).to.have.length(2);

      // The other key may even use it for different input, and each key still replays its own.
      const different = await server.current.admin.data(SUBMIT, { input: input(key, uniqueName("Admin need")) });
      expect(different.submitRfi.rfi.id).to.not.be.oneOf([mine.submitRfi.rfi.id, theirs.submitRfi.rfi.id]);
      expect(await intake.data(SUBMIT, { input: input(key, need) })).to.deep.equal(mine);
      expect(await otherIntake.data(SUBMIT, { input: input(key, need) })).to.deep.equal(theirs);
    });
  });
});
