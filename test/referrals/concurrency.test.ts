import { expect } from "chai";
import { nextStatus, ReferralAction, ReferralStatus } from "../../src/referrals/lifecycle.js";
import type { GraphQLResponse } from "../support/client.js";
import { createPartner, newReferral, referralIn, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";

const PARALLEL = 20;

/** The partner actions raced here, as an integrator sends them. */
const MUTATIONS: Partial<Record<ReferralAction, string>> = {
  EXPRESS_INTEREST: `expressInterest(id: $id, expectedVersion: $v)`,
  IGNORE: `ignoreReferral(id: $id, reason: "Not for us", expectedVersion: $v)`,
  ACCEPT: `acceptReferral(id: $id, input: { estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "2999-01-01" }, expectedVersion: $v)`,
  DECLINE: `declineReferral(id: $id, reason: "No capacity", expectedVersion: $v)`,
  SET_EXTERNAL_REFERENCE: `setExternalReference(id: $id, externalReferenceId: "CRM-1", expectedVersion: $v)`,
};

interface Outcome {
  action: ReferralAction;
  response: GraphQLResponse<{ result: { id: string; status: string; version: number } }>;
}

describe("referrals > concurrent transitions", () => {
  const server = useTestServer();
  let partner: TestPartner;

  before(async () => {
    partner = await createPartner(server.current);
  });

  async function stored(id: string) {
    const [row] = await server.current.db.query("SELECT status, version FROM referrals WHERE id = ?", [id]);
    const events = await server.current.db.query(
      "SELECT action, from_status, to_status FROM referral_events WHERE referral_id = ? ORDER BY id",
      [id],
    );
    return {
      status: row.status as ReferralStatus,
      version: Number(row.version),
      events: events.map((event: Record<string, unknown>) => [event.action, event.from_status, event.to_status]),
    };
  }

  /** Sends all the actions at once over HTTP, with `expectedVersion` when given. */
  function race(id: string, actions: ReferralAction[], expectedVersion?: number): Promise<Outcome[]> {
    return Promise.all(
      actions.map(async (action) => ({
        action,
        response: (await partner.api.request(`mutation($id: ID!, $v: Int) { result: ${MUTATIONS[action]} { id status version } }`, {
          id,
          v: expectedVersion ?? null,
        })) as Outcome["response"],
      })),
    );
  }

  /**
   * Exactly one action won; every other one was refused with the code that the state the winner left
   * explains (INVALID_TRANSITION when the action is not allowed there, else STALE_VERSION); the row moved
   * one version and gained one event.
   */
  async function expectOneWinner(id: string, outcomes: Outcome[], before: Awaited<ReturnType<typeof stored>>) {
    const winners = outcomes.filter((outcome) => outcome.response.errors === undefined);
    expect(winners, JSON.stringify(outcomes.map((o) => o.response.errors?.[0]?.extensions?.code ?? "ok"))).to.have.length(1);
    const [winner] = winners;
    const after = await stored(id);
    const expectedStatus = nextStatus(before.status, winner.action)!;
    expect(winner.response.data!.result).to.deep.equal({ id, status: expectedStatus, version: before.version + 1 });
    expect(after).to.deep.equal({
      status: expectedStatus,
      version: before.version + 1,
      events: [...before.events, [winner.action, before.status, expectedStatus]],
    });

    const losers = outcomes.filter((outcome) => outcome !== winner);
    expect(losers).to.have.length(PARALLEL - 1);
    const codes = losers.map(({ response }) => {
      expect(response.data ?? null).to.equal(null);
      expect(response.errors).to.have.length(1);
      return response.errors![0].extensions?.code;
    });
    const explained = losers.map(({ action }) =>
      nextStatus(expectedStatus, action) === undefined ? "INVALID_TRANSITION" : "STALE_VERSION",
    );
    expect(codes).to.deep.equal(explained);
    return { winner: winner.action, codes: new Set(codes) };
  }

  function alternating(...actions: ReferralAction[]): ReferralAction[] {
    return Array.from({ length: PARALLEL }, (_, i) => actions[i % actions.length]);
  }

  it("lets exactly one of 20 parallel interest/ignore calls with expectedVersion 1 win; the rest get INVALID_TRANSITION", async () => {
    const id = await newReferral(server.current, partner);
    const before = await stored(id);
    expect(before.version).to.equal(1);
    const outcomes = await race(id, alternating(ReferralAction.EXPRESS_INTEREST, ReferralAction.IGNORE), 1);
    const { codes } = await expectOneWinner(id, outcomes, before);
    expect([...codes]).to.deep.equal(["INVALID_TRANSITION"]);
  });

  it("lets exactly one of 20 parallel interest/ignore calls without expectedVersion win; the rest get INVALID_TRANSITION", async () => {
    const id = await newReferral(server.current, partner);
    const before = await stored(id);
    const outcomes = await race(id, alternating(ReferralAction.EXPRESS_INTEREST, ReferralAction.IGNORE));
    const { codes } = await expectOneWinner(id, outcomes, before);
    expect([...codes]).to.deep.equal(["INVALID_TRANSITION"]);
  });

  it("lets exactly one of 20 parallel accept/decline calls on an EVALUATING referral win", async () => {
    const id = await referralIn(server.current, partner, "EVALUATING");
    const before = await stored(id);
    expect(before.version).to.equal(2);
    const outcomes = await race(id, alternating(ReferralAction.ACCEPT, ReferralAction.DECLINE), 2);
    const { codes } = await expectOneWinner(id, outcomes, before);
    expect([...codes]).to.deep.equal(["INVALID_TRANSITION"]);
  });

  it("refuses every other one of 20 parallel same-version CRM-id updates with STALE_VERSION", async () => {
    const id = await newReferral(server.current, partner);
    const before = await stored(id);
    const outcomes = await race(id, alternating(ReferralAction.SET_EXTERNAL_REFERENCE), 1);
    const { codes } = await expectOneWinner(id, outcomes, before);
    expect([...codes]).to.deep.equal(["STALE_VERSION"]);
  });

  it("answers a mix of 20 parallel calls with expectedVersion 1 with one success and only the codes the winner's state explains", async () => {
    const id = await newReferral(server.current, partner);
    const before = await stored(id);
    const outcomes = await race(
      id,
      alternating(ReferralAction.SET_EXTERNAL_REFERENCE, ReferralAction.EXPRESS_INTEREST, ReferralAction.IGNORE),
      1,
    );
    // Every action is allowed in NEW at version 1, so a refused one saw the winner's state; which code each
    // refusal carries follows from that state (checked in expectOneWinner).
    const { winner, codes } = await expectOneWinner(id, outcomes, before);
    expect(winner).to.be.oneOf([ReferralAction.SET_EXTERNAL_REFERENCE, ReferralAction.EXPRESS_INTEREST, ReferralAction.IGNORE]);
    for (const code of codes) expect(code).to.be.oneOf(["INVALID_TRANSITION", "STALE_VERSION"]);
  });
});
