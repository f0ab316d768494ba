import { createHash, randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { expect } from "chai";
import { Role } from "../../src/graphql/role.js";
import { LiveCloseCode } from "../../src/live/close-codes.js";
import type { LimitName } from "../../src/rate-limits/rate-limits.js";
import { testDatabase } from "../support/database.js";
import { createPartner, newReferral } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import WebSocket from "ws";
import { liveClient, subscribe, subscriptionsReach, wsUrl, type LiveClient } from "../support/live.js";
import { purgeNamespace, TEST_REDIS_URL } from "../support/redis.js";

const ME = "{ me { role } }";
const DEAL_SIZES = "{ dealSizeStats(groupBy: [REGION]) { count } }";
const RECEIVED = "subscription { referralReceived { id } }";

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
}

async function post(server: TestServer, key: string | undefined, query = ME, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as Answer["body"] };
}

/** A 429 as the README promises it: Retry-After in whole seconds, the same figure in the RATE_LIMITED error. */
function expectRateLimited(answer: Answer): void {
  expect(answer.status, JSON.stringify(answer.body)).to.equal(429);
  const seconds = Number(answer.retryAfter);
  expect(seconds).to.be.within(1, 60);
  expect(answer.body.errors).to.have.length(1);
  expect(answer.body.errors![0].extensions).to.include({ code: "RATE_LIMITED", retryAfterSeconds: seconds });
}

async function refusals(server: TestServer, limit: LimitName): Promise<number> {
  const { values } = await server.services.metrics.rateLimited.get();
  return values.find((value) => value.labels.limit === limit)?.value ?? 0;
}

/** A key of its own, issued without a request (requests would spend the admin key's allowance). */
async function newKey(server: TestServer, role = Role.ADMIN): Promise<string> {
  return (await server.services.apiKeys.issue({ role, label: `rate limits ${randomBytes(4).toString("hex")}` })).secret;
}

const unknownKey = () => `prk_${randomBytes(32).toString("base64url")}`;

describe("rate limits", function () {
  this.timeout(30_000);
  const servers: TestServer[] = [];
  const namespaces: string[] = [];
  const sockets: LiveClient[] = [];

  /** A namespace of the test's own on the shared Redis, so that no other test (or run) spends its allowance. */
  const namespace = () => {
    namespaces.push(`${testDatabase.database}-rl-${randomBytes(4).toString("hex")}`);
    return namespaces.at(-1)!;
  };
  const start = async (overrides: Record<string, string>) => {
    servers.push(await startTestServer({ RATE_LIMIT_STORE: TEST_REDIS_URL, RATE_LIMIT_NAMESPACE: namespace(), ...overrides }));
    return servers.at(-1)!;
  };
  const open = (server: TestServer, key: string | undefined, headers: Record<string, string> = {}) => {
    sockets.push(liveClient(server, key, headers));
    return sockets.at(-1)!;
  };

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(namespaces.splice(0).map(purgeNamespace));
  });

  it("answers 429 with Retry-After and RATE_LIMITED once a key has used RATE_LIMIT; another key goes on", async () => {
    const server = await start({ RATE_LIMIT: "5" });
    const [busy, other] = [await newKey(server), await newKey(server)];
    for (let i = 0; i < 5; i++) expect((await post(server, busy)).status).to.equal(200);
    const refused = await post(server, busy);
    expectRateLimited(refused);
    expect(refused.body.errors![0].message).to.match(/^rate limit exceeded: this API key may make 5 requests a minute/);
    expect(await post(server, other)).to.deep.include({ status: 200, body: { data: { me: { role: "ADMIN" } } } });
    expect(await refusals(server, "key")).to.equal(1);
  });

  it("shares a key's limit between instances on one Redis and namespace, and keeps other namespaces apart", async () => {
    const shared = namespace();
    const a = await start({ RATE_LIMIT: "4", RATE_LIMIT_NAMESPACE: shared });
    const b = await start({ RATE_LIMIT: "4", RATE_LIMIT_NAMESPACE: shared });
    const elsewhere = await start({ RATE_LIMIT: "4" });
    const key = await newKey(a);
    for (const server of [a, b, a, b]) expect((await post(server, key)).status).to.equal(200);
    expectRateLimited(await post(a, key));
    expectRateLimited(await post(b, key));
    expect((await post(elsewhere, key)).status, "another deployment's namespace").to.equal(200);
  });

  it("lets instances sharing a key's limit through at most 1 % each over it (the allowance they count in memory)", async () => {
    const shared = namespace();
    const a = await start({ RATE_LIMIT: "300", RATE_LIMIT_NAMESPACE: shared });
    const b = await start({ RATE_LIMIT: "300", RATE_LIMIT_NAMESPACE: shared });
    const key = await newKey(a);
    const answers: Answer[] = [];
    for (let i = 0; i < 200; i++) answers.push(...(await Promise.all([post(a, key), post(b, key)])));
    const allowed = answers.filter(({ status }) => status === 200).length;
    expect(allowed, "at least the limit, at most 2 instances × 3 units over it").to.be.within(300, 306);
    for (const refused of answers.filter(({ status }) => status !== 200)) expectRateLimited(refused);
  });

  it("limits requests without a key per address (RATE_LIMIT_ANONYMOUS), apart from keyed ones", async () => {
    const server = await start({ RATE_LIMIT_ANONYMOUS: "3" });
    for (let i = 0; i < 3; i++) expect((await post(server, undefined)).status).to.equal(401);
    expectRateLimited(await post(server, undefined));
    expect((await post(server, await newKey(server))).status).to.equal(200);
    expect(await refusals(server, "anonymous")).to.equal(1);
  });

  it("refuses an address that has used up its failed authentications before looking its keys up", async () => {
    const server = await start({ RATE_LIMIT_FAILED_AUTH: "3" });
    const valid = await newKey(server);
    for (let i = 0; i < 3; i++) expect((await post(server, unknownKey())).status).to.equal(401);
    expectRateLimited(await post(server, unknownKey()));
    expectRateLimited(await post(server, unknownKey()));
    // Looking the key up would tell a guesser which guess was right: even a valid key waits.
    expectRateLimited(await post(server, valid));
    expect((await post(server, undefined)).status, "no key is the anonymous limit's business").to.equal(401);
    expect(await refusals(server, "failed_auth")).to.equal(3);
  });

  it("counts a bad key in connection_init as a failed authentication of the address", async () => {
    const server = await start({ RATE_LIMIT_FAILED_AUTH: "2", RATE_LIMIT_STORE: "memory" });
    expect(await open(server, unknownKey()).closed).to.deep.equal({ code: LiveCloseCode.Forbidden, reason: "Forbidden" });
    expect((await post(server, unknownKey())).status).to.equal(401);
    expect(await open(server, unknownKey()).closed).to.deep.equal({
      code: LiveCloseCode.RateLimited,
      reason: "Too many failed authentications from this address",
    });
    expectRateLimited(await post(server, unknownKey()));
  });

  describe("behind a proxy", () => {
    const from = (address: string) => ({ "x-forwarded-for": address });

    it("counts each client X-Forwarded-For names when TRUST_PROXY names the proxy, over HTTP and WebSocket", async () => {
      const server = await start({ TRUST_PROXY: "loopback", RATE_LIMIT_ANONYMOUS: "2", RATE_LIMIT_FAILED_AUTH: "1" });
      for (let i = 0; i < 2; i++) expect((await post(server, undefined, ME, from("203.0.113.1"))).status).to.equal(401);
      expectRateLimited(await post(server, undefined, ME, from("203.0.113.1")));
      expect((await post(server, undefined, ME, from("203.0.113.2"))).status, "another client behind the proxy").to.equal(401);
      expect((await open(server, unknownKey(), from("198.51.100.7")).closed).code).to.equal(LiveCloseCode.Forbidden);
      expect((await open(server, unknownKey(), from("198.51.100.7")).closed).code).to.equal(LiveCloseCode.RateLimited);
      expect((await open(server, unknownKey(), from("198.51.100.8")).closed).code, "another client's socket").to.equal(
        LiveCloseCode.Forbidden,
      );
    });

    it("ignores X-Forwarded-For without TRUST_PROXY: a client cannot choose its address", async () => {
      const server = await start({ RATE_LIMIT_ANONYMOUS: "2", RATE_LIMIT_FAILED_AUTH: "1" });
      expect((await post(server, undefined, ME, from("203.0.113.1"))).status).to.equal(401);
      expect((await post(server, undefined, ME, from("203.0.113.2"))).status).to.equal(401);
      expectRateLimited(await post(server, undefined, ME, from("203.0.113.3")));
      expect((await open(server, unknownKey(), from("198.51.100.7")).closed).code).to.equal(LiveCloseCode.Forbidden);
      expect((await open(server, unknownKey(), from("198.51.100.8")).closed).code).to.equal(LiveCloseCode.RateLimited);
    });
  });

  it("never limits /healthz, /readyz or /metrics", async () => {
    const server = await start({ RATE_LIMIT_ANONYMOUS: "1", RATE_LIMIT_FAILED_AUTH: "1" });
    await post(server, undefined);
    await post(server, unknownKey());
    expectRateLimited(await post(server, undefined));
    expectRateLimited(await post(server, unknownKey()));
    for (let i = 0; i < 5; i++) {
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        const response = await fetch(server.url.replace("/graphql", path), { headers: { authorization: `Bearer ${unknownKey()}` } });
        await response.arrayBuffer();
        if (path === "/healthz") expect(response.status).to.equal(200);
        else expect(response.status, path).to.not.equal(429);
      }
    }
  });

  it("charges 10 units per statistics field", async () => {
    const server = await start({ RATE_LIMIT: "20" });
    const analyst = await newKey(server, Role.ANALYST);
    for (let i = 0; i < 2; i++) expect((await post(server, analyst, DEAL_SIZES)).body.errors).to.equal(undefined);
    expectRateLimited(await post(server, analyst, ME));

    const another = await newKey(server, Role.ANALYST);
    const twoStatistics = "{ sizes: dealSizeStats(groupBy: [REGION]) { count } dates: closeDateStats(groupBy: [MONTH]) { count } }";
    expect((await post(server, another, twoStatistics)).body.errors).to.equal(undefined);
    expectRateLimited(await post(server, another, ME));

    const cheap = await newKey(server, Role.ANALYST);
    for (let i = 0; i < 19; i++) expect((await post(server, cheap, ME)).status).to.equal(200);
    expect((await post(server, cheap, `{ me { role } } # dealSizeStats`)).status, "a comment costs nothing").to.equal(200);
  });

  it("charges a persisted query's statistics as it charges the query's text, sent by hash alone", async () => {
    const server = await start({ RATE_LIMIT: "30" });
    const analyst = await newKey(server, Role.ANALYST);
    const persistedQuery = { version: 1, sha256Hash: createHash("sha256").update(DEAL_SIZES).digest("hex") };
    const send = (body: Record<string, unknown>) =>
      fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${analyst}` },
        body: JSON.stringify({ ...body, extensions: { persistedQuery } }),
      });
    // Registered with its text (10 units), then run twice by its hash alone (10 units each).
    expect((await send({ query: DEAL_SIZES })).status).to.equal(200);
    for (let i = 0; i < 2; i++) {
      const response = await send({});
      expect(response.status).to.equal(200);
      // Run, by its hash alone (what the statistics hold depends on the suites before this one).
      const { data } = (await response.json()) as Answer["body"];
      expect(data).to.have.property("dealSizeStats").that.is.an("array");
    }
    const refused = await send({});
    expectRateLimited({
      status: refused.status,
      retryAfter: refused.headers.get("retry-after"),
      body: (await refused.json()) as Answer["body"],
    });
    expectRateLimited(await post(server, analyst, ME));
  });

  it("caps the sockets of one key (MAX_SOCKETS_PER_KEY) with close code 4429, and frees a place when one closes", async () => {
    const server = await start({ MAX_SOCKETS_PER_KEY: "2", RATE_LIMIT_STORE: "memory" });
    const [key, other] = [await newKey(server), await newKey(server)];
    const first = open(server, key);
    subscribe(first.client, RECEIVED);
    subscribe(open(server, key).client, RECEIVED);
    await subscriptionsReach(server, 2);
    expect(await open(server, key).closed).to.deep.equal({
      code: LiveCloseCode.RateLimited,
      reason: "Too many sockets for this key (at most 2)",
    });
    subscribe(open(server, other).client, RECEIVED);
    await subscriptionsReach(server, 3);
    expect(await refusals(server, "sockets")).to.equal(1);

    await first.dispose();
    await subscriptionsReach(server, 2);
    subscribe(open(server, key).client, RECEIVED);
    await subscriptionsReach(server, 3);
  });

  it("holds no place for a socket that closed while its key was being checked", async () => {
    const server = await start({ MAX_SOCKETS_PER_KEY: "1", RATE_LIMIT_STORE: "memory" });
    const key = await newKey(server);
    for (let i = 0; i < 5; i++) {
      const socket = new WebSocket(wsUrl(server), "graphql-transport-ws");
      await new Promise((resolve) => socket.once("open", resolve));
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${key}` } }));
      socket.terminate();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    subscribe(open(server, key).client, RECEIVED);
    await subscriptionsReach(server, 1);
  });

  it("counts every subscribe message against the key's limit; over it the operation fails and the socket stays open", async () => {
    const server = await start({ RATE_LIMIT: "3" });
    const key = await newKey(server);
    const live = open(server, key);
    for (let i = 0; i < 3; i++) subscribe(live.client, RECEIVED);
    await subscriptionsReach(server, 3);
    const refused = (await subscribe(live.client, RECEIVED).failed) as { message: string; extensions: Record<string, unknown> }[];
    expect(refused).to.have.length(1);
    expect(refused[0].extensions.code).to.equal("RATE_LIMITED");
    expect(refused[0].extensions.retryAfterSeconds).to.be.within(1, 60);
    const stillOpen = await Promise.race([live.closed, new Promise((resolve) => setTimeout(() => resolve("open"), 300))]);
    expect(stillOpen).to.equal("open");
    await subscriptionsReach(server, 3);
    expectRateLimited(await post(server, key));
    expect(await refusals(server, "key")).to.equal(2);
  });

  it("charges a referralChanged replay a unit per page of 500 after the first, and ends it with RATE_LIMITED past the limit, the socket open", async function () {
    this.timeout(60_000);
    const server = await start({ RATE_LIMIT: "4" });
    const partner = await createPartner(server);
    const referralId = await newReferral(server, partner);
    await server.sequencer.settle();
    const { referralChanges } = await server.admin.data(`{ referralChanges(first: 1) { edges { cursor } } }`);
    const after = referralChanges.edges[0].cursor;
    // A long history after that cursor, placed in the feed: 5 pages of 500.
    const [{ batch }] = await server.db.query("SELECT last_batch AS batch FROM feed_sequence WHERE id = 1");
    const history = Array.from({ length: 2400 }, (_, i) => [
      referralId,
      partner.id,
      2 + i,
      "SET_EXTERNAL_REFERENCE",
      new Date(),
      "NEW",
      "NEW",
      "test",
      batch,
    ]);
    await server.db.query(
      "INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, feed_batch) VALUES ?",
      [history],
    );

    const key = await newKey(server);
    const live = open(server, key);
    const replay = subscribe(live.client, `subscription($after: String) { referralChanged(after: $after) { cursor } }`, { after });
    const refused = (await replay.failed) as { message: string; extensions: Record<string, unknown> }[];
    // The subscribe message paid for the first page, three more units for three more: 2,000 changes, then the refusal.
    expect(replay.received).to.have.length(2000);
    expect(refused).to.have.length(1);
    expect(refused[0].extensions.code).to.equal("RATE_LIMITED");
    expect(refused[0].extensions.retryAfterSeconds).to.be.within(1, 60);
    await subscriptionsReach(server, 0);
    const stillOpen = await Promise.race([live.closed, new Promise((resolve) => setTimeout(() => resolve("open"), 300))]);
    expect(stillOpen).to.equal("open");
    expectRateLimited(await post(server, key));
  });

  describe("with a Redis that stops answering", () => {
    let proxy: Server;
    let silent = false;
    const connections = new Set<Socket>();
    /** What the servers sent Redis through the proxy, chunk by chunk. */
    const commands: string[] = [];

    before(async () => {
      // Between the server and Redis: forwards, or (silent) swallows every command, as a hung Redis would.
      const redis = new URL(TEST_REDIS_URL);
      proxy = createServer((client) => {
        const upstream = connect(Number(redis.port || 6379), redis.hostname);
        connections.add(client).add(upstream);
        client.on("data", (chunk) => {
          commands.push(String(chunk));
          if (!silent) upstream.write(chunk);
        });
        upstream.pipe(client);
        client.on("error", () => upstream.destroy()).on("close", () => upstream.destroy());
        upstream.on("error", () => client.destroy()).on("close", () => client.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    });

    after(async () => {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    });

    it("settles a key's units with Redis in batches: 60 requests within the allowance cost a few round trips, not 60", async () => {
      const { port } = proxy.address() as { port: number };
      const counted = namespace();
      const server = await start({ RATE_LIMIT: "100000", RATE_LIMIT_STORE: `redis://127.0.0.1:${port}`, RATE_LIMIT_NAMESPACE: counted });
      const key = await newKey(server);
      commands.length = 0;
      for (let i = 0; i < 60; i++) expect((await post(server, key)).status).to.equal(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const counts = commands.filter((command) => command.includes(`${counted}:rl:key`));
      expect(counts.length, "settlements (one every 100 ms at most)").to.be.within(1, 20);
    });

    it("answers at once and counts in this instance's memory instead", async () => {
      const { port } = proxy.address() as { port: number };
      const server = await start({ RATE_LIMIT: "3", RATE_LIMIT_STORE: `redis://127.0.0.1:${port}` });
      const key = await newKey(server);
      expect((await post(server, key)).status).to.equal(200);
      silent = true;
      try {
        const started = Date.now();
        for (let i = 0; i < 3; i++) expect((await post(server, key)).status).to.equal(200);
        expectRateLimited(await post(server, key));
        expect(Date.now() - started, "four requests, each waiting at most 200 ms for Redis").to.be.below(2000);
      } finally {
        silent = false;
      }
    });
  });
});
