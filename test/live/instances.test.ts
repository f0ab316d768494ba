import { expect } from "chai";
import { LIMITS } from "../../src/graphql/limits.js";
import { createPartner, newReferral, submitRfi } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";
import { liveClient, subscribe, subscriptionsReach, type LiveClient } from "../support/live.js";
import { TEST_REDIS_URL } from "../support/redis.js";

const RECEIVED = `subscription { referralReceived { id status partner { id } } }`;
const UPDATED = `subscription { referralUpdated { id status events { action actor } } }`;

describe("live > feeds across instances, deadlines and many subscribers", () => {
  const servers: TestServer[] = [];
  const clients: LiveClient[] = [];
  const start = async (overrides: Record<string, string> = {}) => {
    const started = await startTestServer(overrides);
    servers.push(started);
    return started;
  };
  const open = (server: TestServer, key: string) => {
    const live = liveClient(server, key);
    clients.push(live);
    return live;
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((live) => live.dispose()));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it("tells the partner when a deadline expires its referral", async () => {
    const server = await start({ NEW_REFERRAL_RESPONSE_WINDOW: "2s", EXPIRY_SWEEP_EVERY: "1h" });
    const partner = await createPartner(server);
    const feed = subscribe(open(server, partner.api.key!).client, UPDATED);
    await subscriptionsReach(server, 1);
    const id = await newReferral(server, partner);
    const { data } = await feed.next(6000);
    expect(data!.referralUpdated).to.deep.equal({
      id,
      status: "MISSED",
      events: [
        { action: "RECEIVE", actor: "ADMIN_API_KEY" },
        { action: "MISS", actor: "system" },
      ],
    });
  });

  it("carries a change made on one instance to a subscriber on another, through Redis", async () => {
    const pubsub = { PUBSUB_URL: TEST_REDIS_URL, PUBSUB_NAMESPACE: `live-${process.pid}` };
    const [a, b] = [await start(pubsub), await start(pubsub)];
    const elsewhere = await start({ PUBSUB_URL: TEST_REDIS_URL, PUBSUB_NAMESPACE: `other-${process.pid}` });
    const partner = await createPartner(a);
    const onB = subscribe(open(b, partner.api.key!).client, RECEIVED);
    const otherDeployment = subscribe(open(elsewhere, ADMIN_KEY).client, RECEIVED);
    await subscriptionsReach(b, 1);
    await subscriptionsReach(elsewhere, 1);

    const { referralIds } = await submitRfi(a.admin, { partnerIds: [partner.id] });
    const { data } = await onB.next(1000);
    expect(data).to.deep.equal({ referralReceived: { id: referralIds[0], status: "NEW", partner: { id: partner.id } } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(otherDeployment.received, "a deployment on another namespace").to.deep.equal([]);
  });

  it("delivers one change to 200 subscribers, and holds no subscription once they leave", async () => {
    const server = await start();
    const partner = await createPartner(server);
    const feeds = Array.from({ length: 200 }, (_, i) =>
      subscribe(open(server, i % 2 === 0 ? partner.api.key! : ADMIN_KEY).client, RECEIVED),
    );
    await subscriptionsReach(server, 200, 15_000);
    const { referralIds } = await submitRfi(server.admin, { partnerIds: [partner.id] });
    const results = await Promise.all(feeds.map((feed) => feed.next(5000)));
    expect(new Set(results.map(({ data }) => data!.referralReceived.id))).to.deep.equal(new Set(referralIds));
    expect(results.every(({ errors }) => errors === undefined)).to.equal(true);

    await Promise.all(clients.splice(0).map((live) => live.dispose()));
    await subscriptionsReach(server, 0);
    const health = (await (await fetch(server.url.replace("/graphql", "/healthz"))).json()) as { live: { sockets: number } };
    expect(health.live).to.deep.equal({ sockets: 0, subscriptions: 0 });
  });

  it(`refuses more than ${LIMITS.maxOperationsPerSocket} operations at once on one socket`, async () => {
    const server = await start();
    const live = open(server, ADMIN_KEY);
    const feeds = Array.from({ length: LIMITS.maxOperationsPerSocket + 1 }, () => subscribe(live.client, RECEIVED));
    await subscriptionsReach(server, LIMITS.maxOperationsPerSocket);
    const refused = (await feeds.at(-1)!.failed) as { message: string; extensions: { code: string } }[];
    expect(refused.map((error) => [error.extensions.code, error.message])).to.deep.equal([
      ["BAD_REQUEST", `At most ${LIMITS.maxOperationsPerSocket} operations may run at once on one socket`],
    ]);
  });
});
