import { expect } from "chai";
import { nextStatus, ReferralAction, ReferralStatus } from "../../src/referrals/lifecycle.js";
import type { GraphQLClient } from "../support/client.js";
import { createPartner, daysFromToday, newReferral, REFERRAL_FIELDS, referralIn, type TestPartner } from "../support/fixtures.js";
import { useTestServer, type TestServer } from "../support/harness.js";

const CLOSE_DATE = daysFromToday(90);

/** Each partner action as an integrator sends it. */
const MUTATIONS: Partial<Record<ReferralAction, string>> = {
  EXPRESS_INTEREST: `expressInterest(id: $id, expectedVersion: $v)`,
  IGNORE: `ignoreReferral(id: $id, reason: "Not our field", expectedVersion: $v)`,
  ACCEPT: `acceptReferral(id: $id, input: { estimatedDealValue: "120000.50", currency: "EUR", estimatedCloseDate: "${CLOSE_DATE}" }, expectedVersion: $v)`,
  DECLINE: `declineReferral(id: $id, reason: "No capacity", expectedVersion: $v)`,
  UPDATE_ESTIMATE: `updateDealEstimate(id: $id, input: { estimatedDealValue: "99000.00", currency: "USD", estimatedCloseDate: "${CLOSE_DATE}" }, expectedVersion: $v)`,
  MARK_WON: `markReferralWon(id: $id, input: { dealValue: "130000.00" }, expectedVersion: $v)`,
  MARK_LOST: `markReferralLost(id: $id, reason: "Went with a competitor", expectedVersion: $v)`,
  SET_EXTERNAL_REFERENCE: `setExternalReference(id: $id, externalReferenceId: "CRM-42", expectedVersion: $v)`,
};

function act(api: GraphQLClient, action: ReferralAction, id: string, v?: number) {
  return api.request(`mutation($id: ID!, $v: Int) { result: ${MUTATIONS[action]} { ${REFERRAL_FIELDS} } }`, { id, v });
}

async function read(api: GraphQLClient, id: string) {
  const { referral } = await api.data(`query($id: ID!) { referral(id: $id) { ${REFERRAL_FIELDS} } }`, { id });
  return referral;
}

/** A referral in `status`; MISSED and EXPIRED are written as the deadline job writes them. */
async function inStatus(server: TestServer, partner: TestPartner, status: ReferralStatus): Promise<string> {
  if (status !== ReferralStatus.MISSED && status !== ReferralStatus.EXPIRED) return referralIn(server, partner, status);
  const id = await referralIn(server, partner, status === ReferralStatus.MISSED ? "NEW" : "EVALUATING");
  await server.db.query("UPDATE referrals SET status = ?, respond_by = NULL, closed_at = NOW(3), version = version + 1 WHERE id = ?", [
    status,
    id,
  ]);
  return id;
}

describe("referrals > transitions over GraphQL", () => {
  const server = useTestServer();
  let partner: TestPartner;

  before(async () => {
    partner = await createPartner(server.current);
  });

  for (const status of Object.values(ReferralStatus)) {
    for (const action of Object.keys(MUTATIONS) as ReferralAction[]) {
      const expected = nextStatus(status, action);
      if (expected === undefined) {
        it(`refuses ${action} in ${status} with INVALID_TRANSITION and changes nothing`, async () => {
          const id = await inStatus(server.current, partner, status);
          const before = await read(partner.api, id);
          const { errors, data } = await act(partner.api, action, id);
          expect(data).to.equal(null);
          expect(errors?.map((e) => e.extensions?.code)).to.deep.equal(["INVALID_TRANSITION"]);
          expect(errors![0].message).to.equal(`cannot ${action} referral ${id} in ${status} (only from ${MUTATIONS_FROM[action]})`);
          expect(await read(partner.api, id)).to.deep.equal(before);
        });
      } else {
        it(`applies ${action} in ${status} -> ${expected}, with one event`, async () => {
          const id = await inStatus(server.current, partner, status);
          const before = await read(partner.api, id);
          const { data, errors } = await act(partner.api, action, id, before.version);
          expect(errors).to.equal(undefined);
          const after = data!.result;
          expect(after.status).to.equal(expected);
          expect(after.version).to.equal(before.version + 1);
          expect(after.events).to.have.length(before.events.length + 1);
          const event = after.events.at(-1);
          expect(event).to.include({ action, from: status, to: expected });
          expect(event.actor).to.match(/^Partner .* \(first key\)$/);
          expect(await read(partner.api, id)).to.deep.equal(after);
        });
      }
    }
  }

  it("records interest: EVALUATING with a 7-day deadline from now, and the customer becomes visible", async () => {
    const id = await newReferral(server.current, partner);
    const before = await partner.api.data(`query($id: ID!) { referral(id: $id) { customer { email } respondBy } }`, { id });
    expect(before.referral.customer).to.equal(null);
    const started = Date.now();
    const { expressInterest } = await partner.api.data(
      `mutation($id: ID!) { expressInterest(id: $id) { status respondBy customer { companyName contactName email phone } } }`,
      { id },
    );
    const deadline = new Date(expressInterest.respondBy).getTime();
    expect(deadline - started).to.be.within(7 * 86_400_000 - 1000, 7 * 86_400_000 + 5000);
    expect(expressInterest.customer).to.deep.equal({
      companyName: "Fabrikam",
      contactName: "Ann Lee",
      email: "ann@fabrikam.example",
      phone: "+33 1 23 45 67 89",
    });
  });

  it("sets a 72-hour deadline on arrival and clears it once no deadline applies", async () => {
    const id = await newReferral(server.current, partner);
    const fresh = await read(partner.api, id);
    const { referral } = await server.current.admin.data(`query($id: ID!) { referral(id: $id) { receivedAt respondBy } }`, { id });
    expect(new Date(referral.respondBy).getTime() - new Date(referral.receivedAt).getTime()).to.equal(72 * 3600_000);
    expect(fresh.events).to.deep.equal([{ action: "RECEIVE", from: null, to: "NEW", actor: "ADMIN_API_KEY", note: null }]);
    const negotiating = await referralIn(server.current, partner, "NEGOTIATING");
    expect((await read(partner.api, negotiating)).respondBy).to.equal(null);
  });

  it("keeps the accepted estimate, its revisions and the final figures apart", async () => {
    const id = await referralIn(server.current, partner, "EVALUATING");
    await act(partner.api, ReferralAction.ACCEPT, id);
    const revised = (await act(partner.api, ReferralAction.UPDATE_ESTIMATE, id)).data!.result;
    expect(revised.estimatedDealValue).to.deep.equal({ amount: "99000.00", currency: "USD" });
    expect(revised.events.at(-1).note).to.equal(`estimate 99000.00 USD, closing ${CLOSE_DATE}`);
    const won = (await act(partner.api, ReferralAction.MARK_WON, id)).data!.result;
    expect(won).to.deep.include({
      status: "WON",
      archived: true,
      stage: "ARCHIVED",
      respondBy: null,
      finalDealValue: { amount: "130000.00", currency: "USD" },
      finalCloseDate: CLOSE_DATE,
      estimatedDealValue: { amount: "99000.00", currency: "USD" },
    });
    expect(won.closedAt).to.be.a("string");
    const [{ accepted_close_date }] = await server.current.db.query(
      "SELECT DATE_FORMAT(accepted_close_date, '%Y-%m-%d') AS accepted_close_date FROM referrals WHERE id = ?",
      [id],
    );
    expect(accepted_close_date).to.equal(CLOSE_DATE);
  });

  it("defaults every final figure to the latest estimate, and needs a value with a currency", async () => {
    const id = await referralIn(server.current, partner, "NEGOTIATING");
    const refused = await partner.api.error(`mutation($id: ID!) { markReferralWon(id: $id, input: { currency: "USD" }) { id } }`, { id });
    expect(refused).to.include({ code: "BAD_USER_INPUT", message: "input.dealValue: is required when input.currency is given" });
    const { markReferralWon } = await partner.api.data(
      `mutation($id: ID!) { markReferralWon(id: $id) { finalDealValue { amount currency } finalCloseDate estimatedCloseDate } }`,
      { id },
    );
    expect(markReferralWon.finalDealValue).to.deep.equal({ amount: "50000.00", currency: "EUR" });
    expect(markReferralWon.finalCloseDate).to.equal(markReferralWon.estimatedCloseDate);
  });

  it("records the reason of ignore, decline and loss, and clears a CRM id with null", async () => {
    const ignored = (await act(partner.api, ReferralAction.IGNORE, await newReferral(server.current, partner))).data!.result;
    expect(ignored).to.deep.include({ reason: "Not our field", customer: null });
    expect(ignored.events.at(-1).note).to.equal("Not our field");
    const id = await newReferral(server.current, partner);
    await act(partner.api, ReferralAction.SET_EXTERNAL_REFERENCE, id);
    const { setExternalReference } = await partner.api.data(
      `mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: null) { externalReferenceId events { note } } }`,
      { id },
    );
    expect(setExternalReference.externalReferenceId).to.equal(null);
    expect(setExternalReference.events.map((e: { note: string }) => e.note)).to.deep.equal([
      null,
      "external reference CRM-42",
      "external reference cleared",
    ]);
  });

  it("records the coded reason of ignore, decline and loss beside the words, each of them optional", async () => {
    const pass = async (mutation: string, id: string) =>
      (await partner.api.data(`mutation($id: ID!) { result: ${mutation} { status reason reasonCode events { note } } }`, { id })).result;
    const ids = [
      await newReferral(server.current, partner),
      await referralIn(server.current, partner, "EVALUATING"),
      await referralIn(server.current, partner, "NEGOTIATING"),
    ];
    const ignored = await pass(`ignoreReferral(id: $id, reasonCode: OUT_OF_REGION)`, ids[0]);
    expect(ignored).to.deep.include({ status: "IGNORED", reason: null, reasonCode: "OUT_OF_REGION" });
    const declined = await pass(`declineReferral(id: $id, reason: "Booked until June", reasonCode: NO_CAPACITY)`, ids[1]);
    expect(declined).to.deep.include({ status: "DECLINED", reason: "Booked until June", reasonCode: "NO_CAPACITY" });
    expect(declined.events.at(-1).note).to.equal("Booked until June");
    const lost = await pass(`markReferralLost(id: $id, reason: "Price")`, ids[2]);
    expect(lost).to.deep.include({ status: "LOST", reason: "Price", reasonCode: null });
    const stored: { id: string; reasonCode: string | null }[] = await server.current.db.query(
      "SELECT CAST(id AS CHAR) AS id, reason_code AS reasonCode FROM referrals WHERE id IN (?)",
      [ids],
    );
    expect(ids.map((id) => stored.find((row) => row.id === id)?.reasonCode)).to.deep.equal(["OUT_OF_REGION", "NO_CAPACITY", null]);
  });

  it("refuses a reason code that is not one of ReasonCode's, changing nothing", async () => {
    const id = await newReferral(server.current, partner);
    const before = await read(partner.api, id);
    const { errors } = await partner.api.request(`mutation($id: ID!) { ignoreReferral(id: $id, reasonCode: TOO_BUSY) { id } }`, { id });
    expect(errors?.[0].extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    expect(await read(partner.api, id)).to.deep.equal(before);
  });

  it("refuses a stale expectedVersion with STALE_VERSION and changes nothing", async () => {
    const id = await newReferral(server.current, partner);
    await act(partner.api, ReferralAction.SET_EXTERNAL_REFERENCE, id, 1);
    const before = await read(partner.api, id);
    const { errors } = await act(partner.api, ReferralAction.EXPRESS_INTEREST, id, 1);
    expect(errors?.map((e) => [e.extensions?.code, e.extensions?.currentVersion, e.message])).to.deep.equal([
      ["STALE_VERSION", 2, `referral ${id} is at version 2, not 1: read it again before changing it`],
    ]);
    expect(await read(partner.api, id)).to.deep.equal(before);
  });
});

const MUTATIONS_FROM: Partial<Record<ReferralAction, string>> = {
  EXPRESS_INTEREST: "NEW",
  IGNORE: "NEW",
  ACCEPT: "EVALUATING",
  DECLINE: "EVALUATING",
  UPDATE_ESTIMATE: "NEGOTIATING",
  MARK_WON: "NEGOTIATING",
  MARK_LOST: "NEGOTIATING",
  SET_EXTERNAL_REFERENCE: "NEW, EVALUATING, NEGOTIATING",
};
