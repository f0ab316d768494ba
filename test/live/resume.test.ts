import { expect } from "chai";
import { createPartner, newReferral, type TestPartner } from "../support/fixtures.js";
import type { GraphQLClient, GraphQLErrorBody } from "../support/client.js";
import { ADMIN_KEY, startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { liveClient, subscribe, subscriptionsReach, useLiveClients, type LiveClient, type Subscription } from "../support/live.js";
import { TEST_REDIS_URL } from "../support/redis.js";
import { eventually } from "../support/wait.js";

const FIELDS = `cursor at action from to version referral { id status version partner { id } }`;
const CHANGED = `subscription($after: String) { referralChanged(after: $after) { ${FIELDS} } }`;
const CHANGES = `query($after: String) {
  referralChanges(after: $after, first: 500) { edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } }
}`;
const INTEREST = `mutation($id: ID!) { expressInterest(id: $id) { id } }`;
const IGNORE = `mutation($id: ID!) { ignoreReferral(id: $id) { id } }`;
const EXTERNAL = `mutation($id: ID!, $ref: String) { setExternalReference(id: $id, externalReferenceId: $ref) { id } }`;

interface Change {
  cursor: string;
  action: string;
  referral: { id: string; partner: { id: string } };
}

/** Every change after `after` the key may see, over HTTP, oldest first. */
async function changesAfter(api: GraphQLClient, after: string | null): Promise<Change[]> {
  const changes: Change[] = [];
  for (;;) {
    const { referralChanges } = await api.data(CHANGES, { after });
    changes.push(...referralChanges.edges.map((edge: { node: Change }) => edge.node));
    if (!referralChanges.pageInfo.hasNextPage) return changes;
    after = referralChanges.pageInfo.endCursor;
  }
}

/** Once the change that made `referralId` is placed (the last one so far): its cursor. */
async function cursorOfNew(api: GraphQLClient, referralId: string): Promise<string> {
  let cursor: string | undefined;
  await eventually("the new referral is placed", async () => {
    cursor = (await changesAfter(api, null)).find((change) => change.referral.id === referralId)?.cursor;
    return cursor !== undefined;
  });
  return cursor!;
}

/** The cursor of the last change the key may see, once `count` changes after `since` are placed. */
async function cursorOnceFeedHas(api: GraphQLClient, since: string | null, count: number): Promise<string> {
  let changes: Change[] = [];
  await eventually(`the feed has ${count} changes`, async () => (changes = await changesAfter(api, since)).length >= count);
  return changes.at(-1)!.cursor;
}

const changesOf = (feed: { received: { data?: Record<string, any> | null }[] }): Change[] =>
  feed.received.map(({ data }) => data!.referralChanged);
/** Changes of a backlog committed at once; fewer than a replaying subscriber may hold back. */
const BACKLOG = 600;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("live > referralChanged resumes", () => {
  const server = useTestServer();
  const open = useLiveClients(server);
  let a: TestPartner;
  let b: TestPartner;

  before(async () => {
    a = await createPartner(server.current);
    b = await createPartner(server.current);
  });

  it("replays the changes made while a client was away, then goes on live, each once", async () => {
    const away = open(a.api.key!);
    const live = subscribe(away.client, CHANGED);
    await subscriptionsReach(server.current, 1);
    const id = await newReferral(server.current, a);
    const seen: Change = (await live.next()).data!.referralChanged;
    expect(seen).to.deep.include({ action: "RECEIVE", referral: { id, status: "NEW", version: 1, partner: { id: a.id } } });
    await away.dispose();
    await subscriptionsReach(server.current, 0);

    await a.api.data(INTEREST, { id });
    await a.api.data(EXTERNAL, { id, ref: "CRM-7" });
    const other = await newReferral(server.current, a);
    await newReferral(server.current, b);
    // Every change is placed before the client comes back: they are replayed, not sent live.
    await cursorOnceFeedHas(server.current.admin, seen.cursor, 4);
    const missed = await changesAfter(a.api, seen.cursor);
    expect(missed.map((change) => [change.action, change.referral.id])).to.deep.equal([
      ["EXPRESS_INTEREST", id],
      ["SET_EXTERNAL_REFERENCE", id],
      ["RECEIVE", other],
    ]);

    const resumed = subscribe(open(a.api.key!).client, CHANGED, { after: seen.cursor });
    const adminResumed = subscribe(open(ADMIN_KEY).client, CHANGED, { after: seen.cursor });
    for (const change of missed) expect((await resumed.next()).data!.referralChanged).to.deep.equal(change);
    const everyone = await changesAfter(server.current.admin, seen.cursor);
    expect(everyone.map((change) => change.referral.partner.id)).to.deep.equal([a.id, a.id, a.id, b.id]);
    for (const change of everyone) expect((await adminResumed.next()).data!.referralChanged).to.deep.equal(change);
    await pause(300);
    expect(resumed.received, "B's change, or a repeat").to.have.length(3);

    await newReferral(server.current, b);
    await a.api.data(IGNORE, { id: other });
    const next: Change = (await resumed.next()).data!.referralChanged;
    expect(next).to.deep.include({ action: "IGNORE", referral: { id: other, status: "IGNORED", version: 2, partner: { id: a.id } } });
    expect(next).to.deep.equal((await changesAfter(a.api, missed.at(-1)!.cursor))[0]);
    await pause(300);
    const cursors = [seen, ...changesOf(resumed)].map((change) => change.cursor);
    expect(cursors).to.have.length(5);
    expect(new Set(cursors).size, "a cursor sent twice").to.equal(5);
    expect(resumed.received.every(({ errors }) => errors === undefined)).to.equal(true);
  });

  it("leaves no gap and no repeat at the seam while changes keep committing", async function () {
    this.timeout(60_000);
    const backlogOf = await newReferral(server.current, a);
    const start = await cursorOfNew(a.api, backlogOf);
    // A live subscriber keeps the instance delivering while the others join; each joins at another moment.
    const watcher = subscribe(open(ADMIN_KEY).client, CHANGED);
    await subscriptionsReach(server.current, 1);
    const sockets = Array.from({ length: 4 }, () => open(a.api.key!).client);
    // A backlog committed at once (as an expiry sweep leaves one; seq_1_to_N is MariaDB's sequence engine): replaying it takes a while.
    await server.current.db.query(
      `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note)
       SELECT e.referral_id, e.partner_id, 1, 'SET_EXTERNAL_REFERENCE', NOW(3), 'NEW', 'NEW', 'bulk', NULL
       FROM referral_events e JOIN seq_1_to_${BACKLOG} WHERE e.referral_id = ?`,
      [backlogOf],
    );
    const lane = async () => {
      const id = await newReferral(server.current, a);
      await a.api.data(INTEREST, { id });
      await a.api.data(EXTERNAL, { id, ref: `CRM-${id}` });
    };
    const feeds: Subscription<Record<string, any>>[] = [];
    let burst: Promise<unknown> | undefined;
    // The first joins while the backlog is being delivered live, the others while the burst commits.
    const joinAt = [1, BACKLOG + 5, BACKLOG + 15, BACKLOG + 25];
    for (let delivered = 1; delivered <= joinAt.at(-1)!; delivered++) {
      await watcher.next(5000);
      if (joinAt.includes(delivered)) feeds.push(subscribe(sockets[feeds.length], CHANGED, { after: start }));
      burst ??= Promise.all(Array.from({ length: 10 }, lane));
    }
    await burst;

    await cursorOnceFeedHas(a.api, start, BACKLOG + 30);
    const expected = (await changesAfter(a.api, start)).map((change) => change.cursor);
    expect(expected).to.have.length(BACKLOG + 30);
    await eventually("every subscription has every change", async () => feeds.every((feed) => feed.received.length >= expected.length));
    await pause(300);
    for (const [n, feed] of feeds.entries()) {
      expect(feed.received.every(({ errors }) => errors === undefined)).to.equal(true);
      const cursors = changesOf(feed).map((change) => change.cursor);
      expect(new Set(cursors).size, `subscriber ${n}: a change twice`).to.equal(cursors.length);
      expect(cursors.join(), `subscriber ${n}`).to.equal(expected.join());
    }
  });

  it("starts live only without a cursor", async () => {
    const earlier = await newReferral(server.current, a);
    await cursorOfNew(a.api, earlier);
    const feed = subscribe(open(a.api.key!).client, CHANGED);
    await subscriptionsReach(server.current, 1);
    await pause(300);
    expect(feed.received, "changes committed before the subscription").to.deep.equal([]);

    await a.api.data(INTEREST, { id: earlier });
    expect((await feed.next()).data!.referralChanged).to.deep.include({ action: "EXPRESS_INTEREST", from: "NEW", to: "EVALUATING" });
    await pause(300);
    expect(changesOf(feed).map((change) => [change.action, change.referral.id])).to.deep.equal([["EXPRESS_INTEREST", earlier]]);
  });

  it("refuses a cursor it did not give out with BAD_USER_INPUT over WebSocket", async () => {
    const forged = Buffer.from("change:x").toString("base64url");
    const socket = open(a.api.key!);
    const refused = subscribe(socket.client, CHANGED, { after: forged });
    // graphql-ws ends the operation either way: an `error` message, or one result with errors and `complete`.
    const errors = (await Promise.race([refused.failed, refused.next(3000).then((result) => result.errors)])) as GraphQLErrorBody[];
    const overHttp = await a.api.error(CHANGES, { after: forged });
    expect(errors, JSON.stringify(errors)).to.be.an("array").with.length(1);
    expect(errors[0].extensions).to.deep.equal({ code: "BAD_USER_INPUT", field: "after" });
    expect(errors[0].message).to.equal(overHttp.message);
    expect(overHttp.extensions).to.deep.equal(errors[0].extensions);

    // Nothing was subscribed, and the socket stays open: it subscribes again and is served.
    await subscriptionsReach(server.current, 0);
    expect(await Promise.race([socket.closed, pause(200).then(() => "open")])).to.equal("open");
    const feed = subscribe(socket.client, CHANGED);
    await subscriptionsReach(server.current, 1);
    const id = await newReferral(server.current, a);
    expect((await feed.next()).data!.referralChanged.referral.id).to.equal(id);
    expect(
      refused.received.filter((result) => result.data),
      "a change on the refused operation",
    ).to.deep.equal([]);
  });

  it("resumes on another instance", async function () {
    this.timeout(60_000);
    const pubsub = { PUBSUB_URL: TEST_REDIS_URL, PUBSUB_NAMESPACE: `resume-${process.pid}` };
    const servers: TestServer[] = [];
    const clients: LiveClient[] = [];
    try {
      servers.push(await startTestServer(pubsub), await startTestServer(pubsub));
      const [one, two] = servers;
      const onTwo = two.client(a.api.key!);
      const cursor = await cursorOfNew(one.client(a.api.key!), await newReferral(one, a));

      const id = await newReferral(two, a);
      await onTwo.data(INTEREST, { id });
      await cursorOnceFeedHas(onTwo, cursor, 2);
      const missed = await changesAfter(onTwo, cursor);

      clients.push(liveClient(one, a.api.key!));
      const feed = subscribe(clients[0].client, CHANGED, { after: cursor });
      for (const change of missed) expect((await feed.next(3000)).data!.referralChanged).to.deep.equal(change);
      await subscriptionsReach(one, 1);

      await onTwo.data(EXTERNAL, { id, ref: "CRM-two" });
      const live: Change = (await feed.next(3000)).data!.referralChanged;
      expect(live).to.deep.include({
        action: "SET_EXTERNAL_REFERENCE",
        referral: { id, status: "EVALUATING", version: 3, partner: { id: a.id } },
      });
      expect(live).to.deep.equal((await changesAfter(onTwo, missed.at(-1)!.cursor))[0]);
      await pause(300);
      expect(feed.received).to.have.length(3);
    } finally {
      await Promise.all(clients.map((live) => live.dispose()));
      await Promise.all(servers.map((started) => started.stop()));
    }
  });
});
