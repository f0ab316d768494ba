import { expect } from "chai";
import type { QueryRunner } from "typeorm";
import { createPartner, issueKey, newReferral, submitRfi, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import type { GraphQLClient } from "../support/client.js";
import { eventually } from "../support/wait.js";

const CHANGES = `query($after: String, $first: Int) {
  referralChanges(after: $after, first: $first) {
    edges { cursor node { cursor at action from to version referral { id status version } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Change {
  cursor: string;
  action: string;
  from: string | null;
  to: string;
  version: number;
  referral: { id: string; status: string; version: number };
}

/** A CRM's sync loop: asks from its last cursor until nothing is new, keeps the cursor. */
class Follower {
  cursor: string | null = null;
  readonly seen: Change[] = [];

  constructor(private readonly api: GraphQLClient) {}

  async sync(): Promise<Change[]> {
    const fresh: Change[] = [];
    for (;;) {
      const { referralChanges } = await this.api.data(CHANGES, { after: this.cursor, first: 3 });
      fresh.push(...referralChanges.edges.map((edge: { node: Change }) => edge.node));
      if (referralChanges.pageInfo.endCursor) this.cursor = referralChanges.pageInfo.endCursor;
      if (!referralChanges.pageInfo.hasNextPage) break;
    }
    this.seen.push(...fresh);
    return fresh;
  }
}

const eventsOf = (
  server: ReturnType<typeof useTestServer>,
  partnerId?: string,
): Promise<{ id: string; referralId: string; action: string }[]> =>
  server.current.db.query(
    `SELECT CAST(e.id AS CHAR) AS id, CAST(e.referral_id AS CHAR) AS referralId, e.action FROM referral_events e ${partnerId ? "WHERE e.partner_id = ?" : ""} ORDER BY e.id`,
    partnerId ? [partnerId] : [],
  );

describe("change feed > referralChanges", () => {
  const server = useTestServer();
  let a: TestPartner;
  let b: TestPartner;

  before(async () => {
    a = await createPartner(server.current);
    b = await createPartner(server.current);
  });

  it("gives a change whose transaction commits late, after the changes that committed while it was open: nothing skipped, nothing repeated", async function () {
    this.timeout(60_000);
    const admin = new Follower(server.current.admin);
    const [first, held] = [await newReferral(server.current, a), await newReferral(server.current, a)];
    // A's counters row exists once A has answered once; holding it makes A's next answer wait before its commit.
    await a.api.data("mutation($id: ID!) { ignoreReferral(id: $id) { id } }", { id: first });
    const [early, ...others] = await Promise.all([
      newReferral(server.current, b),
      newReferral(server.current, b),
      newReferral(server.current, b),
    ]);
    // B's counters exist before A's are held: B's later answers update its rows, and insert nothing next to A's.
    await b.api.data("mutation($id: ID!) { expressInterest(id: $id) { id } }", { id: early });
    await eventually("the feed has every change so far", async () => {
      await admin.sync();
      return admin.seen.length === (await eventsOf(server)).length;
    });

    const blocker: QueryRunner = server.current.db.createQueryRunner();
    // READ COMMITTED: the lock holds A's rows only, not the gaps beside them where B's counters go.
    await blocker.startTransaction("READ COMMITTED");
    let late: Promise<unknown>;
    try {
      await blocker.query("SELECT * FROM partner_counters WHERE partner_id = ? FOR UPDATE", [a.id]);
      late = a.api.data("mutation($id: ID!) { ignoreReferral(id: $id) { id } }", { id: held });
      // Its event is written (and its id taken), uncommitted: it waits for the counters before it can commit.
      const peek: QueryRunner = server.current.db.createQueryRunner();
      try {
        await peek.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
        await eventually("the held change has written its event", async () => {
          const found = await peek.query("SELECT id FROM referral_events WHERE referral_id = ? AND action = 'IGNORE'", [held]);
          return found.length === 1;
        });
      } finally {
        await peek.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        await peek.release();
      }
      // Meanwhile B's changes commit, with later event ids than the held one.
      for (const id of others) await b.api.data("mutation($id: ID!) { expressInterest(id: $id) { id } }", { id });
      await eventually("B's changes are in the feed", async () => {
        await admin.sync();
        return admin.seen.filter((c) => c.action === "EXPRESS_INTEREST").length === 3;
      });
      expect(admin.seen.some((c) => c.referral.id === held && c.action === "IGNORE")).to.equal(false);
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    await late!;
    await eventually("the late change is in the feed", async () => {
      await admin.sync();
      return admin.seen.some((c) => c.action === "IGNORE" && c.referral.id === held);
    });

    const events = await eventsOf(server);
    const heldEvent = events.find((event) => event.referralId === held && event.action === "IGNORE")!;
    const interest = events.filter((event) => event.action === "EXPRESS_INTEREST" && others.includes(event.referralId));
    // The scenario really happened: the late change's id comes before ids that committed earlier.
    expect(interest.every((event) => BigInt(event.id) > BigInt(heldEvent.id))).to.equal(true);
    // Every change exactly once, the late one after those that committed first.
    expect(admin.seen).to.have.length(events.length);
    expect(new Set(admin.seen.map((c) => c.cursor)).size).to.equal(events.length);
    const order = admin.seen.map((c) => `${c.action} ${c.referral.id}`);
    expect(order.indexOf(`IGNORE ${held}`)).to.be.greaterThan(order.indexOf(`EXPRESS_INTEREST ${others[1]}`));
    expect(await admin.sync()).to.deep.equal([]);
  });

  it("gives a partner its own changes only, an analyst and an admin every partner's, with the version after each change", async () => {
    const id = await newReferral(server.current, b);
    await b.api.data("mutation($id: ID!) { expressInterest(id: $id) { id } }", { id });
    const analyst = await issueKey(server.current, "ANALYST");
    const everyone = new Follower(analyst);
    const own = new Follower(b.api);
    const other = new Follower(a.api);
    await eventually("the change is in the feed", async () => {
      await own.sync();
      return own.seen.some((c) => c.referral.id === id && c.action === "EXPRESS_INTEREST");
    });
    await everyone.sync();
    await other.sync();
    const events = await eventsOf(server);
    expect(everyone.seen).to.have.length(events.length);
    expect(own.seen.map((c) => c.referral.id)).to.deep.equal((await eventsOf(server, b.id)).map((e) => e.referralId));
    expect(other.seen.every((c) => c.referral.id !== id)).to.equal(true);
    expect(other.seen.map((c) => c.referral.id)).to.deep.equal((await eventsOf(server, a.id)).map((e) => e.referralId));
    const mine = own.seen.filter((c) => c.referral.id === id);
    expect(mine.map(({ action, from, to, version }) => ({ action, from, to, version }))).to.deep.equal([
      { action: "RECEIVE", from: null, to: "NEW", version: 1 },
      { action: "EXPRESS_INTEREST", from: "NEW", to: "EVALUATING", version: 2 },
    ]);
  });

  it("answers an empty page with a null endCursor when nothing is new", async () => {
    const follower = new Follower(a.api);
    await follower.sync();
    const { referralChanges } = await a.api.data(CHANGES, { after: follower.cursor });
    expect(referralChanges).to.deep.equal({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it("refuses a cursor it did not give out, and a page over 500, with BAD_USER_INPUT", async () => {
    const forged = await a.api.error(CHANGES, { after: Buffer.from("change:x").toString("base64url") });
    expect(forged.code).to.equal("BAD_USER_INPUT");
    expect(forged.extensions?.field).to.equal("after");
    expect((await a.api.error(CHANGES, { first: 501 })).code).to.equal("BAD_USER_INPUT");
    expect((await a.api.error(CHANGES, { first: -1 })).code).to.equal("BAD_USER_INPUT");
  });

  it("places the changes of concurrent submissions each once, in an order every reader agrees on", async function () {
    this.timeout(30_000);
    const before = new Follower(server.current.admin);
    await before.sync();
    await Promise.all(Array.from({ length: 20 }, () => submitRfi(server.current.admin, { partnerIds: [a.id, b.id] })));
    const total = (await eventsOf(server)).length;
    await eventually("every change is placed", async () => {
      await before.sync();
      return before.seen.length === total;
    });
    const fromStart = new Follower(server.current.admin);
    await fromStart.sync();
    expect(fromStart.seen.map((c) => c.cursor)).to.deep.equal(before.seen.map((c) => c.cursor));
    expect(new Set(fromStart.seen.map((c) => c.cursor)).size).to.equal(total);
  });
});
