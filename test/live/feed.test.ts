import { expect } from "chai";
import WebSocket from "ws";
import { LIMITS } from "../../src/graphql/limits.js";
import { LiveCloseCode } from "../../src/live/close-codes.js";
import { CONNECTION_INIT_WAIT_MS } from "../../src/live/websocket.js";
import { createPartner, issueKeyDetails, newReferral, rfiInput, SUBMIT_RFI, submitRfi, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, useTestServer } from "../support/harness.js";
import { brokenChange, liveClient, subscribe, subscriptionsReach, useLiveClients, wsUrl, type LiveClient } from "../support/live.js";
import { eventually } from "../support/wait.js";

const RECEIVED = `subscription { referralReceived { id status partner { id } overview { need } customer { email } } }`;
const UPDATED = `subscription { referralUpdated { id status version customer { email } events { action actor } } }`;

describe("live > referral feeds over graphql-ws", () => {
  const server = useTestServer();
  let a: TestPartner;
  let b: TestPartner;
  const open = useLiveClients(server);

  before(async () => {
    a = await createPartner(server.current);
    b = await createPartner(server.current);
  });

  it("delivers a new referral to its partner within a second, and nothing to another partner", async () => {
    const feedA = subscribe(open(a.api.key!).client, RECEIVED);
    const feedB = subscribe(open(b.api.key!).client, RECEIVED);
    await subscriptionsReach(server.current, 2);

    const submitted = Date.now();
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [a.id] });
    const { data } = await feedA.next(1000);
    expect(Date.now() - submitted).to.be.below(1000);
    expect(data).to.deep.equal({
      referralReceived: {
        id: referralIds[0],
        status: "NEW",
        partner: { id: a.id },
        overview: { need: "Move our ERP to the cloud" },
        customer: null,
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(feedB.received).to.deep.equal([]);
  });

  it("delivers every partner's new referrals to an ADMIN key", async () => {
    const feed = subscribe(open(ADMIN_KEY).client, RECEIVED);
    await subscriptionsReach(server.current, 1);
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [a.id, b.id] });
    const first = await feed.next();
    const second = await feed.next();
    const got = [first, second].map(({ data }) => data!.referralReceived);
    expect(got.map((referral) => referral.id).sort()).to.deep.equal([...referralIds].sort());
    expect(got.map((referral) => referral.customer)).to.deep.equal([{ email: "ann@fabrikam.example" }, { email: "ann@fabrikam.example" }]);
  });

  it("sends each subscriber the referral under its own access rules", async () => {
    const partnerFeed = subscribe(open(a.api.key!).client, UPDATED);
    const adminFeed = subscribe(open(ADMIN_KEY).client, UPDATED);
    await subscriptionsReach(server.current, 2);
    const id = await newReferral(server.current, a);
    await a.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-1") { id } }`, { id });
    expect((await partnerFeed.next()).data!.referralUpdated.customer).to.equal(null);
    expect((await adminFeed.next()).data!.referralUpdated.customer).to.deep.equal({ email: "ann@fabrikam.example" });
  });

  it("delivers a partner's own transitions and a colleague's, with the change committed", async () => {
    const colleague = await issueKeyDetails(server.current, "PARTNER", a.id);
    const feed = subscribe(open(a.api.key!).client, UPDATED);
    await subscriptionsReach(server.current, 1);
    const id = await newReferral(server.current, a);

    await colleague.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
    const interest = (await feed.next()).data!.referralUpdated;
    expect(interest).to.deep.include({ id, status: "EVALUATING", version: 2, customer: { email: "ann@fabrikam.example" } });
    expect(interest.events.at(-1)).to.deep.equal({ action: "EXPRESS_INTEREST", actor: colleague.label });
    // Published after commit: what the event says is already what everyone reads.
    const { referral } = await a.api.data(`query($id: ID!) { referral(id: $id) { status version } }`, { id });
    expect(referral).to.deep.equal({ status: "EVALUATING", version: 2 });

    await a.api.data(`mutation($id: ID!) { declineReferral(id: $id, reason: "Busy") { id } }`, { id });
    expect((await feed.next()).data!.referralUpdated).to.deep.include({ id, status: "DECLINED", version: 3 });
  });

  it("publishes nothing for a refused change or an idempotent replay", async () => {
    const received = subscribe(open(a.api.key!).client, RECEIVED);
    const updated = subscribe(open(a.api.key!).client, UPDATED);
    await subscriptionsReach(server.current, 2);
    const input = rfiInput({ partnerIds: [a.id], idempotencyKey: `replay-${Date.now()}` });
    const results = await Promise.all(Array.from({ length: 20 }, () => server.current.admin.request(SUBMIT_RFI, { input })));
    expect(results.every((result) => result.errors === undefined)).to.equal(true);
    const id = results[0].data!.submitRfi.referrals[0].id;
    await a.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id });
    const refused = await a.api.error(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
    expect(refused.code).to.equal("INVALID_TRANSITION");
    // The 20 submissions are a burst: the pushes follow once it is calm (BACKGROUND_YIELD_AT), then nothing more.
    await eventually("the IGNORED push arrives", async () => updated.received.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.received.map(({ data }) => data!.referralReceived.id)).to.deep.equal([id]);
    expect(updated.received.map(({ data }) => data!.referralUpdated.status)).to.deep.equal(["IGNORED"]);
  });

  it("closes the socket with 4403 for a bad, unknown or missing key", async () => {
    for (const key of ["not-a-key", `prk_${"x".repeat(43)}`, undefined]) {
      const { closed } = open(key);
      expect(await closed, String(key)).to.deep.equal({ code: LiveCloseCode.Forbidden, reason: "Forbidden" });
    }
  });

  it("closes a socket that sends no connection_init with 4408", async () => {
    const socket = new WebSocket(wsUrl(server.current), "graphql-transport-ws");
    const started = Date.now();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).to.deep.equal({
      code: LiveCloseCode.ConnectionInitialisationTimeout,
      reason: "Connection initialisation timeout",
    });
    expect(Date.now() - started).to.be.within(CONNECTION_INIT_WAIT_MS - 100, CONNECTION_INIT_WAIT_MS + 1000);
  });

  it("closes the sockets of a key revoked while connected, and sends it nothing more", async () => {
    const key = await issueKeyDetails(server.current, "PARTNER", a.id);
    const live = open(key.secret);
    const feed = subscribe(live.client, RECEIVED);
    await subscriptionsReach(server.current, 1);
    await server.current.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: key.id });
    expect(await live.closed).to.deep.equal({ code: LiveCloseCode.Forbidden, reason: "Forbidden: API key revoked" });
    await subscriptionsReach(server.current, 0);
    await submitRfi(server.current.admin, { partnerIds: [a.id] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(feed.received).to.deep.equal([]);
    expect(await open(key.secret).closed).to.deep.equal({ code: LiveCloseCode.Forbidden, reason: "Forbidden" });
  });

  it(`closes with 4413 the socket of a client that stops reading, once ${LIMITS.maxPendingEvents} events wait for it`, async () => {
    const socket = new WebSocket(wsUrl(server.current), "graphql-transport-ws");
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${ADMIN_KEY}` } }));
    await new Promise((resolve) => socket.once("message", resolve));
    const heavy = `subscription { referralUpdated { id status events { action actor note at } overview { need keywords } } }`;
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: heavy } }));
    await subscriptionsReach(server.current, 1);
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    // The client stops reading; the server keeps publishing changes of a referral with a long trail.
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const id = await newReferral(server.current, a);
    const note = "n".repeat(900);
    await server.current.db.query(
      `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note)
       SELECT ?, partner_id, 1, 'SET_EXTERNAL_REFERENCE', NOW(3), 'NEW', 'NEW', 'bulk', ? FROM referral_events WHERE referral_id = ? LIMIT 1`,
      [id, note, id],
    );
    for (let i = 0; i < 6; i++) {
      await server.current.db.query(
        `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note)
         SELECT referral_id, partner_id, version, action, at, from_status, to_status, actor, note FROM referral_events WHERE referral_id = ?`,
        [id],
      );
    }
    // Each event above is a change the subscriber is sent, with the whole trail; 400 more, placed in
    // several batches, fill the kernel's socket buffers and then the server's allowance of pending events.
    for (let batch = 0; batch < 4; batch++) {
      await server.current.db.query(
        `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note)
         SELECT referral_id, partner_id, version, 'SET_EXTERNAL_REFERENCE', NOW(3), 'NEW', 'NEW', 'bulk', 'more' FROM referral_events
         WHERE referral_id = ? LIMIT 100`,
        [id],
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Reading again, the client finds the data the server had sent before it gave up, then the close.
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).to.equal(LiveCloseCode.SlowConsumer);
    await subscriptionsReach(server.current, 0);
  });

  it("refuses a WebSocket message larger than the payload limit", async () => {
    const socket = new WebSocket(wsUrl(server.current), "graphql-transport-ws");
    await new Promise((resolve) => socket.once("open", resolve));
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { padding: "x".repeat(LIMITS.maxPayloadBytes) } }));
    expect(await closed).to.equal(1009);
  });
});

describe("live > the same rules over WebSocket as over HTTP", () => {
  const server = useTestServer();
  let partner: TestPartner;
  let live: LiveClient;

  before(async () => {
    partner = await createPartner(server.current);
    live = liveClient(server.current, partner.api.key!);
  });

  after(async () => {
    await live.dispose();
  });

  /** The errors of one operation over the socket, as the client receives them. */
  async function overSocket(query: string, variables?: Record<string, unknown>) {
    const operation = subscribe(live.client, query, variables);
    const outcome = await Promise.race([operation.failed, operation.next(3000).then((result) => result.errors)]);
    operation.stop();
    return outcome as { message: string; extensions?: { code?: string } }[];
  }

  const deep = `subscription { referralUpdated { partner { profiles { partner { profiles { partner { profiles { partner { profiles { partner { id } } } } } } } } } } }`;
  const CASES: [name: string, query: string, variables?: Record<string, unknown>][] = [
    ["a document that does not parse", "subscription { referralUpdated { id "],
    ["a subscription deeper than the depth limit", deep],
    ["a subscription to a field that does not exist", "subscription { referralUpdated { id sttus } }"],
    [
      "too many aliases",
      `subscription { ${Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: referralUpdated { id }`).join(" ")} }`,
    ],
    ["a variable of the wrong type", "subscription($n: Int) { referralUpdated { id } }", { n: "many" }],
  ];
  for (const [name, query, variables] of CASES) {
    it(`refuses ${name} with the same error as HTTP`, async () => {
      const socketErrors = await overSocket(query, variables);
      const { errors: httpErrors } = await partner.api.request(query, variables);
      expect(socketErrors.map((error) => [error.extensions?.code, error.message])).to.deep.equal(
        httpErrors!.map((error) => [error.extensions?.code, error.message]),
      );
      expect(socketErrors).to.have.length.greaterThan(0);
    });
  }

  it("masks an unexpected error in a live event as over HTTP, with an error id", async () => {
    const admin = liveClient(server.current, ADMIN_KEY);
    try {
      const feed = subscribe(admin.client, "subscription { referralUpdated { id partner { name } } }");
      await subscriptionsReach(server.current, 1);
      const id = await newReferral(server.current, partner);
      await server.current.sequencer.settle();
      // A change of a referral naming a partner that does not exist: resolving it fails inside the server.
      const restore = await brokenChange(server.current, id, "partner_id");
      const { data, errors } = await feed.next().finally(restore);
      expect(data).to.equal(null);
      expect(errors).to.have.length(1);
      const [error] = errors!;
      const [, errorId] = /^Internal server error \(id ([0-9a-f-]{36})\)$/.exec(error.message) ?? [];
      expect(error.extensions).to.deep.equal({ code: "INTERNAL_SERVER_ERROR", errorId });
    } finally {
      await admin.dispose();
    }
  });

  it("refuses a subscription to a role that may not subscribe, as FORBIDDEN", async () => {
    const analyst = await issueKeyDetails(server.current, "ANALYST");
    const analystLive = liveClient(server.current, analyst.secret);
    try {
      const operation = subscribe(analystLive.client, "subscription { referralReceived { id } }");
      const { errors } = await operation.next();
      expect(errors?.map((error) => error.extensions?.code)).to.deep.equal(["FORBIDDEN"]);
    } finally {
      await analystLive.dispose();
    }
  });

  it("refuses introspection over WebSocket in production, as over HTTP", async () => {
    const production = await startTestServer({ NODE_ENV: "production", LOG_LEVEL: "silent" });
    const productionLive = liveClient(production, ADMIN_KEY);
    try {
      const operation = subscribe(productionLive.client, "query { __schema { types { name } } }");
      const outcome = (await Promise.race([operation.failed, operation.next().then((result) => result.errors)])) as {
        message: string;
        extensions: { code: string };
      }[];
      const { errors: httpErrors } = await production.admin.request("query { __schema { types { name } } }");
      expect(outcome.map((error) => error.extensions.code)).to.deep.equal(["GRAPHQL_VALIDATION_FAILED"]);
      expect(outcome.map((error) => error.message)).to.deep.equal(httpErrors!.map((error) => error.message));
    } finally {
      await productionLive.dispose();
      await production.stop();
    }
  });
});
