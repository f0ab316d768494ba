import { expect } from "chai";
import { createPartner, issueKeyDetails, newReferral, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, useTestServer } from "../support/harness.js";
import { brokenChange, subscribe, subscriptionsReach, useLiveClients } from "../support/live.js";

const UPDATED = `subscription { referralUpdated { id overview { need } } }`;
const ERROR_ID = /^Internal server error \(id ([0-9a-f-]{36})\)$/;

describe("live > one execution per group of subscribers", () => {
  const server = useTestServer();
  let a: TestPartner;
  let b: TestPartner;
  const open = useLiveClients(server);

  before(async () => {
    a = await createPartner(server.current);
    b = await createPartner(server.current);
  });

  /** The error id a subscriber got for a change that fails to resolve (one id per execution). */
  async function errorIdOf(feed: ReturnType<typeof subscribe>): Promise<string> {
    const { errors } = await feed.next();
    expect(errors).to.have.length(1);
    return ERROR_ID.exec(errors![0].message)![1];
  }

  it("executes a change once for the subscribers with the same rights and document, and never across rights", async () => {
    const colleague = await issueKeyDetails(server.current, "PARTNER", a.id);
    const sameRights = [open(a.api.key!), open(a.api.key!), open(colleague.secret)].map((live) => subscribe(live.client, UPDATED));
    const otherDocument = subscribe(open(a.api.key!).client, `subscription { referralUpdated { id status overview { need } } }`);
    const admin = subscribe(open(ADMIN_KEY).client, UPDATED);
    const otherPartner = subscribe(open(b.api.key!).client, UPDATED);
    await subscriptionsReach(server.current, 6);

    const id = await newReferral(server.current, a);
    await server.current.sequencer.settle();
    // A change of A's referral whose RFI does not exist: each execution fails, with an error id of its own.
    const restore = await brokenChange(server.current, id, "rfi_id");
    const shared = await Promise.all(sameRights.map(errorIdOf)).finally(restore);
    expect(new Set(shared).size, "the same rights and document share one execution").to.equal(1);
    const separate = [await errorIdOf(otherDocument), await errorIdOf(admin)];
    expect(new Set([...shared, ...separate]).size, "another document or other rights: executions of their own").to.equal(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(otherPartner.received, "another partner is told nothing").to.deep.equal([]);
  });

  it("delivers to every subscriber of a group, each under its own subscription id, once", async () => {
    const live = open(a.api.key!);
    const feeds = Array.from({ length: 3 }, () => subscribe(live.client, UPDATED));
    const elsewhere = subscribe(open(a.api.key!).client, UPDATED);
    await subscriptionsReach(server.current, 4);
    const id = await newReferral(server.current, a);
    await a.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-7") { id } }`, { id });
    for (const feed of [...feeds, elsewhere]) {
      expect(await feed.next()).to.deep.equal({ data: { referralUpdated: { id, overview: { need: "Move our ERP to the cloud" } } } });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const feed of [...feeds, elsewhere]) expect(feed.received).to.have.length(1);
  });
});
