import { readFileSync } from "node:fs";
import { expect } from "chai";
import { buildSchema } from "graphql";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import {
  createPartner,
  daysFromToday,
  issueKeyDetails,
  referralIn,
  rfiInput,
  expectTablesUnchanged,
  snapshotTables,
  SUBMIT_RFI,
  type TestPartner,
} from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/** An id no row has in this suite's small tables. */
const MISSING = "987654321";

/** Ids that are not row ids at all: each must read as "does not exist", never reach SQL or fail inside. */
const NOT_ROW_IDS = [
  "abc",
  "1 OR 1=1",
  "1; DROP TABLE referrals",
  "' OR '1'='1",
  "0",
  "-1",
  "1.0",
  " 1",
  "0x1",
  "1e3",
  "99999999999999999999999999",
  "",
];

const READ = `id status version updatedAt externalReferenceId estimatedDealValue { amount currency } reason
  partner { id } profile { id } events { from to actor note at }`;

const CLOSE_DATE = daysFromToday(45);
const ESTIMATE = `{ estimatedDealValue: "75000.00", currency: "EUR", estimatedCloseDate: "${CLOSE_DATE}" }`;

/** Every referral mutation of the contract, as a partner's integration sends it. */
const REFERRAL_MUTATIONS: Record<string, string> = {
  expressInterest: `expressInterest(id: $id, expectedVersion: $v)`,
  ignoreReferral: `ignoreReferral(id: $id, reason: "not for us", expectedVersion: $v)`,
  acceptReferral: `acceptReferral(id: $id, input: ${ESTIMATE}, expectedVersion: $v)`,
  declineReferral: `declineReferral(id: $id, reason: "no capacity", expectedVersion: $v)`,
  updateDealEstimate: `updateDealEstimate(id: $id, input: ${ESTIMATE}, expectedVersion: $v)`,
  markReferralWon: `markReferralWon(id: $id, input: { dealValue: "80000.00" }, expectedVersion: $v)`,
  markReferralLost: `markReferralLost(id: $id, reason: "lost", expectedVersion: $v)`,
  setExternalReference: `setExternalReference(id: $id, externalReferenceId: "HIJACK-1", expectedVersion: $v)`,
};

function mutate(api: GraphQLClient, mutation: string, id: string, v?: number) {
  return api.request(`mutation($id: ID!, $v: Int) { result: ${REFERRAL_MUTATIONS[mutation]} { id status version } }`, { id, v });
}

/** A response with `text` replaced in its error messages: two refusals that differ only by the id compare equal. */
function withoutId(response: GraphQLResponse<unknown>, text: string): GraphQLResponse<unknown> {
  return {
    ...response,
    errors: response.errors?.map((error) => ({ ...error, message: error.message.split(text).join("<id>") })),
  };
}

const PROFILE_INPUT = {
  region: "FR",
  location: "Hijacked office",
  contactEmail: "attacker@partner-a.example",
  keywords: ["hijack"],
  preferredCompanySizes: ["SIZE_1_TO_9"],
  active: false,
};
const UPSERT_PROFILE = `mutation($partnerId: ID!, $id: ID, $input: MarketingProfileInput!) {
  upsertMarketingProfile(partnerId: $partnerId, id: $id, input: $input) { id partner { id } }
}`;

interface Referrals {
  ids: string[];
  totalCount: number;
  partners: string[];
  profilePartners: string[];
}

async function list(api: GraphQLClient, filter?: Record<string, unknown>): Promise<Referrals> {
  const { referrals } = await api.data(
    `query($filter: ReferralFilter) {
       referrals(filter: $filter, first: 50) { totalCount pageInfo { hasNextPage } edges { node { id partner { id } profile { partner { id } } } } }
     }`,
    { filter },
  );
  // Every list of this suite fits on one page.
  expect(referrals.pageInfo.hasNextPage).to.equal(false);
  const nodes = referrals.edges.map((edge: { node: any }) => edge.node);
  return {
    ids: byId(nodes.map((node: { id: string }) => node.id)),
    totalCount: referrals.totalCount,
    partners: [...new Set<string>(nodes.map((node: any) => node.partner.id))],
    profilePartners: [...new Set<string>(nodes.map((node: any) => node.profile.partner.id))],
  };
}

function byId(ids: string[]): string[] {
  return [...ids].sort((a, b) => Number(a) - Number(b));
}

describe("auth > tenant isolation between partners", () => {
  const server = useTestServer();
  let a: TestPartner;
  let b: TestPartner;
  /** Each partner's referrals by status (the shared RFI's referral is one of the NEW ones). */
  const of = { a: {} as Record<string, string[]>, b: {} as Record<string, string[]> };
  let aProfiles: string[];
  let bProfiles: string[];
  let analyst: GraphQLClient;

  const all = (side: "a" | "b") => byId(Object.values(of[side]).flat());
  const inStatuses = (side: "a" | "b", statuses: string[]) => byId(statuses.flatMap((status) => of[side][status] ?? []));

  before(async function () {
    this.timeout(60_000);
    a = await createPartner(server.current);
    b = await createPartner(server.current);
    const { upsertMarketingProfile: aBerlin } = await a.api.data(UPSERT_PROFILE, {
      partnerId: a.id,
      input: { ...PROFILE_INPUT, region: "DE", location: "Berlin", active: true },
    });
    const { upsertMarketingProfile: bLyon } = await server.current.admin.data(UPSERT_PROFILE, {
      partnerId: b.id,
      input: { ...PROFILE_INPUT, location: "Lyon", active: false },
    });
    aProfiles = [a.profileId, aBerlin.id];
    bProfiles = [b.profileId, bLyon.id];

    for (const status of ["NEW", "EVALUATING", "NEGOTIATING", "LOST"]) of.a[status] = [await referralIn(server.current, a, status)];
    for (const status of ["NEW", "EVALUATING", "NEGOTIATING", "WON", "DECLINED", "IGNORED"]) {
      of.b[status] = [await referralIn(server.current, b, status)];
    }
    // One customer's RFI sent to both: each partner gets its own referral of it.
    const { submitRfi } = await server.current.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [a.id, b.id] }) });
    for (const referral of submitRfi.referrals) (referral.partner.id === a.id ? of.a : of.b).NEW.push(referral.id);
    expect(of.a.NEW).to.have.length(2);
    expect(of.b.NEW).to.have.length(2);

    analyst = (await issueKeyDetails(server.current, "ANALYST")).api;
  });

  describe("referral(id)", () => {
    it("is null for every one of B's referrals when A asks, exactly as for an id that does not exist", async () => {
      const missing = await a.api.request(`query($id: ID!) { referral(id: $id) { id } }`, { id: MISSING });
      expect(missing).to.deep.equal({ status: 200, data: { referral: null } });
      for (const id of all("b")) {
        expect(await a.api.request(`query($id: ID!) { referral(id: $id) { id } }`, { id }), id).to.deep.equal(missing);
        // An integer literal is coerced to the same ID.
        expect(await a.api.request(`{ referral(id: ${id}) { id } }`), id).to.deep.equal(missing);
      }
    });

    it("shows A each of its own referrals, with A's partner and one of A's profiles", async () => {
      for (const id of all("a")) {
        const { referral } = await a.api.data(
          `query($id: ID!) { referral(id: $id) { id partner { id name profiles { id } } profile { id partner { id } } } }`,
          { id },
        );
        expect(referral.id).to.equal(id);
        expect(referral.partner).to.deep.equal({ id: a.id, name: a.name, profiles: aProfiles.map((p) => ({ id: p })) });
        expect(referral.profile).to.deep.equal({ id: a.profileId, partner: { id: a.id } });
      }
    });

    it("shows ADMIN and ANALYST the referrals of both partners", async () => {
      for (const api of [server.current.admin, analyst]) {
        for (const [side, partner] of [
          ["a", a],
          ["b", b],
        ] as const) {
          for (const id of all(side)) {
            const { referral } = await api.data(`query($id: ID!) { referral(id: $id) { id partner { id } } }`, { id });
            expect(referral).to.deep.equal({ id, partner: { id: partner.id } });
          }
        }
      }
    });
  });

  describe("referrals(filter)", () => {
    it("lists only A's referrals to A, without a filter", async () => {
      const seen = await list(a.api);
      expect(seen).to.deep.equal({ ids: all("a"), totalCount: all("a").length, partners: [a.id], profilePartners: [a.id] });
    });

    it("lists nothing to A when A filters on B's partnerId: no rows and a totalCount of 0", async () => {
      const { referrals } = await a.api.data(
        `query($filter: ReferralFilter) { referrals(filter: $filter) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }`,
        { filter: { partnerId: b.id } },
      );
      expect(referrals).to.deep.equal({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
      for (const stage of ["NEW", "EVALUATING", "NEGOTIATING", "ARCHIVED"]) {
        expect(await list(a.api, { partnerId: b.id, stage }), stage).to.deep.equal({
          ids: [],
          totalCount: 0,
          partners: [],
          profilePartners: [],
        });
      }
    });

    it("lists A's own referrals when A filters on A's partnerId", async () => {
      expect((await list(a.api, { partnerId: a.id })).ids).to.deep.equal(all("a"));
    });

    const stages: Record<string, string[]> = {
      NEW: ["NEW"],
      EVALUATING: ["EVALUATING"],
      NEGOTIATING: ["NEGOTIATING"],
      ARCHIVED: ["WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"],
    };
    for (const [stage, statuses] of Object.entries(stages)) {
      it(`lists only A's referrals in stage ${stage} to A`, async () => {
        const seen = await list(a.api, { stage });
        expect(seen.ids).to.deep.equal(inStatuses("a", statuses));
        expect(seen.totalCount).to.equal(inStatuses("a", statuses).length);
        // B has referrals in this stage too, which the analyst sees.
        expect((await list(analyst, { stage })).ids).to.include.members(inStatuses("b", statuses));
      });
    }

    it("lists none of B's referrals to A whatever the status filter, even in statuses only B has", async () => {
      for (const status of ["NEW", "EVALUATING", "NEGOTIATING", "WON", "LOST", "DECLINED", "IGNORED"]) {
        expect((await list(a.api, { statuses: [status] })).ids, status).to.deep.equal(inStatuses("a", [status]));
      }
      expect(await list(a.api, { statuses: ["WON", "DECLINED", "IGNORED"] })).to.deep.equal({
        ids: [],
        totalCount: 0,
        partners: [],
        profilePartners: [],
      });
    });

    it("lists only A's referrals to A with region, date and incremental-sync filters", async () => {
      const filters = [
        { region: "FR" },
        { receivedAfter: "2000-01-01T00:00:00.000Z" },
        { receivedBefore: "2999-01-01T00:00:00.000Z" },
        { updatedAfter: "2000-01-01T00:00:00.000Z" },
        { region: "FR", stage: "NEW", updatedAfter: "2000-01-01T00:00:00.000Z" },
      ];
      for (const filter of filters) {
        const seen = await list(a.api, filter);
        expect(seen.partners, JSON.stringify(filter)).to.deep.equal([a.id]);
        expect(
          seen.ids.filter((id) => all("b").includes(id)),
          JSON.stringify(filter),
        ).to.deep.equal([]);
      }
    });

    it("pages A through its own referrals only, with the same totalCount on every page", async () => {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const { referrals }: { referrals: any } = await a.api.data(
          `query($after: String) { referrals(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
          { after },
        );
        expect(referrals.totalCount).to.equal(all("a").length);
        seen.push(...referrals.edges.map((edge: { node: { id: string } }) => edge.node.id));
        after = referrals.pageInfo.hasNextPage ? referrals.pageInfo.endCursor : null;
      } while (after !== null);
      expect(byId(seen)).to.deep.equal(all("a"));
      expect(seen).to.have.length(all("a").length);
    });

    for (const role of ["ADMIN", "ANALYST"]) {
      it(`lists both partners' referrals to ${role}, and exactly B's when it filters on B`, async () => {
        const api = role === "ADMIN" ? server.current.admin : analyst;
        const everything = await list(api);
        expect(everything.ids).to.deep.equal(byId([...all("a"), ...all("b")]));
        expect(everything.totalCount).to.equal(all("a").length + all("b").length);
        expect(await list(api, { partnerId: b.id })).to.deep.equal({
          ids: all("b"),
          totalCount: all("b").length,
          partners: [b.id],
          profilePartners: [b.id],
        });
      });
    }
  });

  describe("referral mutations", () => {
    for (const mutation of Object.keys(REFERRAL_MUTATIONS)) {
      it(`refuses A's ${mutation} on each of B's referrals with the NOT_FOUND of a missing id, and changes nothing`, async () => {
        const bBefore = await Promise.all(all("b").map((id) => b.api.data(`query($id: ID!) { referral(id: $id) { ${READ} } }`, { id })));
        const before = await snapshotTables(server.current);
        for (const { referral } of bBefore) {
          for (const v of [undefined, referral.version, referral.version + 7]) {
            const missing = await mutate(a.api, mutation, MISSING, v);
            const refused = await mutate(a.api, mutation, referral.id, v);
            const what = `${mutation} on B's ${referral.status} referral ${referral.id}, expectedVersion ${v}`;
            expect(refused.errors, what).to.deep.equal([{ ...missing.errors![0], message: `referral ${referral.id} not found` }]);
            expect(refused.errors![0].extensions, what).to.deep.equal({ code: "NOT_FOUND" });
            expect(withoutId(refused, referral.id), what).to.deep.equal(withoutId(missing, MISSING));
          }
        }
        await expectTablesUnchanged(server.current, before);
        const bAfter = await Promise.all(all("b").map((id) => b.api.data(`query($id: ID!) { referral(id: $id) { ${READ} } }`, { id })));
        expect(bAfter).to.deep.equal(bBefore);
      });
    }

    it("still lets B change the referrals A was refused", async () => {
      const [id] = of.b.NEW;
      const { data } = await mutate(b.api, "setExternalReference", id);
      expect(data).to.deep.include({ result: { id, status: "NEW", version: 2 } });
    });
  });

  describe("upsertMarketingProfile", () => {
    const refusal = (partnerId: string, id?: string) => a.api.request(UPSERT_PROFILE, { partnerId, id, input: PROFILE_INPUT });

    it("refuses A creating a profile for B with the NOT_FOUND of a missing partner, and creates nothing", async () => {
      const before = await snapshotTables(server.current);
      const refused = await refusal(b.id);
      const missing = await refusal(MISSING);
      expect(refused.errors?.map((e) => [e.extensions, e.message])).to.deep.equal([[{ code: "NOT_FOUND" }, `partner ${b.id} not found`]]);
      expect(refused.data).to.equal(null);
      expect(withoutId(refused, b.id)).to.deep.equal(withoutId(missing, MISSING));
      await expectTablesUnchanged(server.current, before);
    });

    it("refuses A updating B's profile under B's partnerId, and changes nothing", async () => {
      const before = await snapshotTables(server.current);
      for (const profileId of bProfiles) {
        const refused = await refusal(b.id, profileId);
        expect(refused.errors?.map((e) => [e.extensions, e.message])).to.deep.equal([[{ code: "NOT_FOUND" }, `partner ${b.id} not found`]]);
        expect(withoutId(refused, b.id)).to.deep.equal(withoutId(await refusal(MISSING, profileId), MISSING));
      }
      await expectTablesUnchanged(server.current, before);
    });

    it("refuses A updating B's profile under A's own partnerId, exactly as a missing profile, and changes nothing", async () => {
      const before = await snapshotTables(server.current);
      for (const profileId of bProfiles) {
        const refused = await refusal(a.id, profileId);
        expect(refused.errors?.map((e) => [e.extensions, e.message])).to.deep.equal([
          [{ code: "NOT_FOUND" }, `marketing profile ${profileId} of partner ${a.id} not found`],
        ]);
        expect(withoutId(refused, profileId)).to.deep.equal(withoutId(await refusal(a.id, MISSING), MISSING));
      }
      await expectTablesUnchanged(server.current, before);
    });

    it("refuses A updating its own profile under B's partnerId, and changes nothing", async () => {
      const before = await snapshotTables(server.current);
      const refused = await refusal(b.id, a.profileId);
      expect(refused.errors?.map((e) => [e.extensions?.code, e.message])).to.deep.equal([["NOT_FOUND", `partner ${b.id} not found`]]);
      await expectTablesUnchanged(server.current, before);
    });

    it("does not let even ADMIN move B's profile to A by naming it under A", async () => {
      const before = await snapshotTables(server.current);
      const error = await server.current.admin.error(UPSERT_PROFILE, { partnerId: a.id, id: b.profileId, input: PROFILE_INPUT });
      expect(error).to.include({ code: "NOT_FOUND", message: `marketing profile ${b.profileId} of partner ${a.id} not found` });
      await expectTablesUnchanged(server.current, before);
    });

    it("lets A update its own profile under its own partnerId", async () => {
      const { upsertMarketingProfile } = await a.api.data(UPSERT_PROFILE, {
        partnerId: a.id,
        id: aProfiles[1],
        input: { ...PROFILE_INPUT, region: "DE", location: "Berlin", active: true, keywords: ["erp", "sap"] },
      });
      expect(upsertMarketingProfile).to.deep.equal({ id: aProfiles[1], partner: { id: a.id } });
    });
  });

  describe("me and the partner graph", () => {
    it("lists only A's profiles in A's me.partner.profiles", async () => {
      const { me } = await a.api.data(`{ me { role partner { id name profiles { id region location partner { id } } } } }`);
      expect(me.role).to.equal("PARTNER");
      expect(me.partner.id).to.equal(a.id);
      expect(me.partner.name).to.equal(a.name);
      expect(me.partner.profiles.map((p: { id: string }) => p.id)).to.deep.equal(aProfiles);
      expect(me.partner.profiles.map((p: { partner: { id: string } }) => p.partner.id)).to.deep.equal([a.id, a.id]);
    });

    it("shows A, through the referral of an RFI sent to both, only A's partner and profile", async () => {
      const [, shared] = of.a.NEW;
      const { referral } = await a.api.data(
        `query($id: ID!) { referral(id: $id) { partner { id profiles { id partner { id } } } profile { id partner { id profiles { id } } } } }`,
        { id: shared },
      );
      expect(referral).to.deep.equal({
        partner: { id: a.id, profiles: aProfiles.map((id) => ({ id, partner: { id: a.id } })) },
        profile: { id: a.profileId, partner: { id: a.id, profiles: aProfiles.map((id) => ({ id })) } },
      });
      // B's referral of the same RFI stays invisible.
      const [, bShared] = of.b.NEW;
      expect(await a.api.data(`query($id: ID!) { referral(id: $id) { id } }`, { id: bShared })).to.deep.equal({ referral: null });
    });
  });

  describe("ids that are not row ids", () => {
    for (const id of NOT_ROW_IDS) {
      it(`reads ${JSON.stringify(id)} as a missing referral: null for A and ADMIN, NOT_FOUND for every mutation`, async () => {
        const before = await snapshotTables(server.current);
        for (const api of [a.api, server.current.admin]) {
          expect(await api.request(`query($id: ID!) { referral(id: $id) { id } }`, { id })).to.deep.equal({
            status: 200,
            data: { referral: null },
          });
          expect(await list(api, { partnerId: id })).to.deep.equal({ ids: [], totalCount: 0, partners: [], profilePartners: [] });
        }
        for (const mutation of Object.keys(REFERRAL_MUTATIONS)) {
          const { data, errors } = await mutate(a.api, mutation, id);
          expect(data, mutation).to.equal(null);
          expect(
            errors?.map((e) => [e.extensions, e.message]),
            mutation,
          ).to.deep.equal([[{ code: "NOT_FOUND" }, `referral ${id} not found`]]);
        }
        for (const api of [a.api, server.current.admin]) {
          const notPartner = await api.error(UPSERT_PROFILE, { partnerId: id, input: PROFILE_INPUT });
          expect(notPartner).to.include({ code: "NOT_FOUND", message: `partner ${id} not found` });
        }
        const notProfile = await a.api.error(UPSERT_PROFILE, { partnerId: a.id, id, input: PROFILE_INPUT });
        expect(notProfile).to.include({ code: "NOT_FOUND", message: `marketing profile ${id} of partner ${a.id} not found` });
        await expectTablesUnchanged(server.current, before);
      });
    }
  });

  describe("the rest of the contract", () => {
    it("counts only A's deals in A's statistics, and nothing of B's even when A names B", async () => {
      const [{ ofA, ofB }] = await server.current.db.query(
        "SELECT SUM(partner_id = ? AND deal_value IS NOT NULL) AS ofA, SUM(partner_id = ? AND deal_value IS NOT NULL) AS ofB FROM referrals",
        [a.id, b.id],
      );
      expect(Number(ofA), "A has deals").to.be.greaterThan(0);
      expect(Number(ofB), "B has deals").to.be.greaterThan(0);
      const count = async (api: typeof a.api, field: string, filter: Record<string, unknown> | null) => {
        const data = await api.data(
          `query($filter: StatsFilter) { ${field}(filter: $filter, groupBy: [PARTNER]) { key { value } count } }`,
          { filter },
        );
        return data[field] as { key: { value: string }[]; count: number }[];
      };
      for (const field of ["dealSizeStats", "closeDateStats"]) {
        const own = await count(a.api, field, null);
        expect(
          own.map((row) => row.key[0].value),
          field,
        ).to.deep.equal(own.map(() => a.id));
        expect(
          own.reduce((sum, row) => sum + row.count, 0),
          field,
        ).to.equal(Number(ofA));
        expect(await count(a.api, field, { partnerIds: [b.id] }), field).to.deep.equal([]);
        const both = await count(server.current.admin, field, { partnerIds: [a.id, b.id] });
        expect(new Set(both.map((row) => row.key[0].value)), field).to.deep.equal(new Set([a.id, b.id]));
      }
    });

    it("refuses A every operation over other tenants' data or the whole platform with FORBIDDEN", async () => {
      const before = await snapshotTables(server.current);
      const operations = [
        [`{ partners { id } }`, "partners"],
        [`mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } } }`, "submitRfi"],
        [`mutation { createPartner(input: { name: "Shadow" }) { apiKey } }`, "createPartner"],
        [`mutation($p: ID) { issueApiKey(input: { role: PARTNER, partnerId: $p, label: "B, by A" }) { secret } }`, "issueApiKey"],
        [`mutation { revokeApiKey(id: "1") }`, "revokeApiKey"],
        [`{ rfi(id: "1") { id referrals { id } suggestedPartners { rank } } }`, "rfi"],
        [`mutation($p: ID!) { extendRfi(rfiId: "1", partnerIds: [$p]) { id } }`, "extendRfi"],
        [`{ notifications { edges { node { to } } } }`, "notifications"],
        [`{ apiKeys(includeRevoked: true) { id label partner { id } } }`, "apiKeys"],
      ];
      for (const [document, field] of operations) {
        const error = await a.api.error(document, { input: rfiInput({ partnerIds: [b.id] }), p: b.id });
        expect(error.code, field).to.equal("FORBIDDEN");
        expect(error.message, field).to.match(new RegExp(`^${field} needs a key with role .*; this key is PARTNER$`));
      }
      await expectTablesUnchanged(server.current, before);
    });

    it("gives A only A's changes in the change feed, and keeps B's webhook endpoints and deliveries NOT_FOUND to A", async function () {
      this.timeout(20_000);
      const receiver = await new WebhookReceiver().start();
      try {
        const { createWebhookEndpoint } = await b.api.data(
          `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, events: [REFERRAL_RECEIVED, REFERRAL_UPDATED] }) { endpoint { id } } }`,
          { url: receiver.url },
        );
        const endpointId = createWebhookEndpoint.endpoint.id;
        const [shared] = of.b.NEW;
        await b.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "B-CRM-1") { id } }`, { id: shared });
        await receiver.receivedAtLeast(1);
        const { webhookDeliveries } = await b.api.data(`query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node { id } } } }`, {
          e: endpointId,
        });
        const deliveryId = webhookDeliveries.edges[0].node.id;

        const changes = await a.api.data(`{ referralChanges(first: 500) { edges { node { referral { id partner { id } } } } } }`);
        const seen = changes.referralChanges.edges.map(
          (edge: { node: { referral: { id: string; partner: { id: string } } } }) => edge.node.referral,
        );
        expect(seen.length).to.be.greaterThan(0);
        expect(seen.every((referral: { partner: { id: string } }) => referral.partner.id === a.id)).to.equal(true);
        expect(seen.map((referral: { id: string }) => referral.id)).not.to.include.members(all("b"));

        const before = await snapshotTables(server.current);
        expect(await a.api.data(`{ webhookEndpoints { id } }`)).to.deep.equal({ webhookEndpoints: [] });
        const refused = [
          [`mutation($e: ID!) { setWebhookEndpointEnabled(id: $e, enabled: false) { id } }`, `webhook endpoint ${endpointId} not found`],
          [`mutation($e: ID!) { deleteWebhookEndpoint(id: $e) }`, `webhook endpoint ${endpointId} not found`],
          [`query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node { id } } } }`, `webhook endpoint ${endpointId} not found`],
          [`mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { id } }`, `webhook delivery ${deliveryId} not found`],
        ];
        for (const [document, message] of refused) {
          expect(await a.api.error(document, { e: endpointId, d: deliveryId })).to.include({ code: "NOT_FOUND", message });
        }
        const forB = await a.api.error(
          `mutation($p: ID) { createWebhookEndpoint(partnerId: $p, input: { url: "http://127.0.0.1:1/x", events: [REFERRAL_RECEIVED] }) { secret } }`,
          { p: b.id },
        );
        expect(forB.code).to.equal("FORBIDDEN");
        await expectTablesUnchanged(server.current, before);
        expect(receiver.received.every((hook) => !all("a").some((id) => hook.body.includes(`"${id}"`)))).to.equal(true);
      } finally {
        await receiver.stop();
      }
    });

    /**
     * Where each operation of the schema is shown to keep tenants apart. A new query or mutation makes
     * this test fail until its isolation is tested too.
     */
    const COVERED: Record<string, string> = {
      "Query.me": "me and the partner graph",
      "Query.referral": "referral(id)",
      "Query.referrals": "referrals(filter)",
      "Query.partners": "FORBIDDEN to PARTNER (above and in access.test.ts)",
      "Query.dealSizeStats": "statistics (above)",
      "Query.closeDateStats": "statistics (above)",
      "Mutation.submitRfi": "FORBIDDEN to PARTNER",
      "Mutation.expressInterest": "referral mutations",
      "Mutation.ignoreReferral": "referral mutations",
      "Mutation.acceptReferral": "referral mutations",
      "Mutation.declineReferral": "referral mutations",
      "Mutation.updateDealEstimate": "referral mutations",
      "Mutation.markReferralWon": "referral mutations",
      "Mutation.markReferralLost": "referral mutations",
      "Mutation.setExternalReference": "referral mutations",
      "Mutation.upsertMarketingProfile": "upsertMarketingProfile",
      "Mutation.createPartner": "FORBIDDEN to PARTNER",
      "Mutation.issueApiKey": "FORBIDDEN to PARTNER",
      "Mutation.revokeApiKey": "FORBIDDEN to PARTNER",
      "Mutation.extendRfi": "FORBIDDEN to PARTNER",
      "Query.rfi": "FORBIDDEN to PARTNER",
      "Query.notifications": "FORBIDDEN to PARTNER",
      "Query.apiKeys": "FORBIDDEN to PARTNER",
      "Subscription.referralReceived": "test/live/feed.test.ts (over WebSocket)",
      "Subscription.referralUpdated": "test/live/feed.test.ts (over WebSocket)",
      "Subscription.referralChanged": "test/live/resume.test.ts (over WebSocket)",
      "Query.referralChanges": "change feed and webhooks (above)",
      "Query.webhookEndpoints": "change feed and webhooks (above)",
      "Query.webhookDeliveries": "change feed and webhooks (above)",
      "Mutation.createWebhookEndpoint": "change feed and webhooks (above)",
      "Mutation.setWebhookEndpointEnabled": "change feed and webhooks (above)",
      "Mutation.deleteWebhookEndpoint": "change feed and webhooks (above)",
      "Mutation.redeliverWebhook": "change feed and webhooks (above)",
    };

    it("covers every query, mutation and subscription of the schema", () => {
      const schema = buildSchema(readFileSync(new URL("../../../schema/schema.graphql", import.meta.url), "utf8"));
      const operations = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
        Object.keys(type?.getFields() ?? {}).map((field) => `${type!.name}.${field}`),
      );
      expect(operations.sort()).to.deep.equal(Object.keys(COVERED).sort());
      for (const mutation of Object.keys(REFERRAL_MUTATIONS)) expect(COVERED[`Mutation.${mutation}`]).to.equal("referral mutations");
    });
  });
});
