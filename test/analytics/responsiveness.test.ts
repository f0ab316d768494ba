import { expect } from "chai";
import { responsivenessScore } from "../../src/analytics/responsiveness.js";
import { createPartner, newReferral, submitRfi, type TestPartner } from "../support/fixtures.js";
import { useTestServer, type TestServer } from "../support/harness.js";

const RESPONSIVENESS = `{ me { partner { id responsiveness { decided medianHoursToAnswer answeredWithin24hShare missedShare } } } }`;

/**
 * A referral of `partner` answered (interest or no thanks) `hours` after it arrived: its arrival is
 * moved back before the answer, then set to exactly `hours` before it (a shift of milliseconds).
 */
async function answeredAfter(server: TestServer, partner: TestPartner, hours: number, answer: "expressInterest" | "ignoreReferral") {
  const id = await newReferral(server, partner);
  await server.db.query("UPDATE referrals SET received_at = NOW(3) - INTERVAL ? SECOND WHERE id = ?", [hours * 3600, id]);
  await partner.api.data(`mutation($id: ID!) { ${answer}(id: $id) { id } }`, { id });
  await server.db.query("UPDATE referrals SET received_at = answered_at - INTERVAL ? SECOND WHERE id = ?", [hours * 3600, id]);
  return id;
}

/** A referral of `partner` MISSED at its deadline, moved into the past and expired by the sweep. */
async function missed(server: TestServer, partner: TestPartner) {
  const id = await newReferral(server, partner);
  // Placed and scored first: the sequencer deriving its arrival's e-mail (a foreign key) and the arrival's
  // scoring hold the row for a moment, the later after a burst of requests, and the sweep skips held rows.
  await server.sequencer.settle();
  await server.fitScores.settled();
  await server.db.query("UPDATE referrals SET respond_by = NOW(3) - INTERVAL 1 SECOND WHERE id = ?", [id]);
  await server.deadlines.sweep();
  const [{ status }] = await server.db.query("SELECT status FROM referrals WHERE id = ?", [id]);
  expect(status).to.equal("MISSED");
}

describe("analytics > responsiveness", () => {
  const server = useTestServer();

  it("counts decided referrals, the median hours to answer and the shares answered in 24 h and missed", async () => {
    const partner = await createPartner(server.current);
    await answeredAfter(server.current, partner, 2, "expressInterest");
    await answeredAfter(server.current, partner, 10, "ignoreReferral");
    await answeredAfter(server.current, partner, 30, "expressInterest");
    await missed(server.current, partner);
    await newReferral(server.current, partner); // still NEW: not decided
    const { me } = await partner.api.data(RESPONSIVENESS);
    expect(me.partner.responsiveness).to.deep.equal({
      decided: 4,
      medianHoursToAnswer: 10,
      answeredWithin24hShare: 0.5,
      missedShare: 0.25,
    });
  });

  it("takes the nearest-rank median of an even number of answers", async () => {
    const partner = await createPartner(server.current);
    for (const hours of [30, 2, 20, 10]) await answeredAfter(server.current, partner, hours, "expressInterest");
    const { me } = await partner.api.data(RESPONSIVENESS);
    expect(me.partner.responsiveness).to.deep.equal({ decided: 4, medianHoursToAnswer: 10, answeredWithin24hShare: 0.75, missedShare: 0 });
  });

  it("has nothing to say of a partner that decided nothing yet", async () => {
    const partner = await createPartner(server.current);
    await newReferral(server.current, partner);
    const { me } = await partner.api.data(RESPONSIVENESS);
    expect(me.partner.responsiveness).to.deep.equal({
      decided: 0,
      medianHoursToAnswer: null,
      answeredWithin24hShare: null,
      missedShare: null,
    });
  });

  it("answers for every partner of a list in the same two queries", async () => {
    const partners = await Promise.all([createPartner(server.current), createPartner(server.current)]);
    await answeredAfter(server.current, partners[0], 5, "expressInterest");
    const { partners: listed } = await server.current.admin.data(`{ partners { id responsiveness { decided } } }`);
    const decided = new Map(listed.map((p: { id: string; responsiveness: { decided: number } }) => [p.id, p.responsiveness.decided]));
    expect([decided.get(partners[0].id), decided.get(partners[1].id)]).to.deep.equal([1, 0]);
  });

  it("scores responsiveness for routing: even without history, towards 1 when fast, towards 0 when missing", () => {
    expect(responsivenessScore({ decided: 0, medianHoursToAnswer: null, answeredWithin24hShare: null, missedShare: null })).to.equal(0.5);
    expect(responsivenessScore({ decided: 20, medianHoursToAnswer: 1, answeredWithin24hShare: 1, missedShare: 0 })).to.equal(
      (20 + 2.5) / 25,
    );
    expect(responsivenessScore({ decided: 20, medianHoursToAnswer: null, answeredWithin24hShare: 0, missedShare: 1 })).to.equal(2.5 / 25);
  });

  it("routes an RFI to the responsive partner when two match it equally", async () => {
    const keyword = `routing-${process.pid}`;
    // The slow partner's profile is older: on match alone, it would win the tie.
    const slow = await createPartner(server.current, undefined, { keywords: [keyword] });
    const fast = await createPartner(server.current, undefined, { keywords: [keyword] });
    for (let i = 0; i < 4; i++) {
      await answeredAfter(server.current, fast, 1, "expressInterest");
      await missed(server.current, slow);
    }
    const { referralIds } = await submitRfi(server.current.admin, { keywords: [keyword], maxPartners: 1 });
    const [{ partnerId }] = await server.current.db.query("SELECT CAST(partner_id AS CHAR) AS partnerId FROM referrals WHERE id = ?", [
      referralIds[0],
    ]);
    expect(partnerId).to.equal(fast.id);
  });
});
