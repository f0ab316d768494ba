import { expect } from "chai";
import { Webhook } from "standardwebhooks";
import { createPartner, newReferral, submitRfi, type TestPartner } from "../support/fixtures.js";
import { startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { eventually } from "../support/wait.js";
import { WebhookReceiver, type ReceivedWebhook } from "../support/webhook-receiver.js";
import { DELIVERIES, endpointFor } from "../support/webhooks.js";
import { WEBHOOK_CHANNEL } from "../../src/webhooks/webhook-writer.js";

interface Body {
  type: string;
  timestamp: string;
  data: { referralId: string; status: string; version: number; cursor: string };
}
const bodyOf = (hook: ReceivedWebhook) => JSON.parse(hook.body) as Body;

describe("webhooks > delivery", () => {
  // Retries within the test's patience; a hanging endpoint is given up on after 2 s.
  const server = useTestServer({ WEBHOOK_RETRY_SCHEDULE: "150ms,150ms,150ms", WEBHOOK_TIMEOUT: "2s" });
  const receivers: WebhookReceiver[] = [];
  const receiver = async () => {
    const started = await new WebhookReceiver().start();
    receivers.push(started);
    return started;
  };
  let a: TestPartner;
  let b: TestPartner;

  beforeEach(async () => {
    a = await createPartner(server.current);
    b = await createPartner(server.current);
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
  });

  it("posts a new referral signed in the Standard Webhooks format, which the standardwebhooks package verifies", async () => {
    const hooks = await receiver();
    const { secret } = await endpointFor(a.api, hooks.url);
    expect(secret).to.match(/^whsec_[A-Za-z0-9+/]{32}$/);
    const id = await newReferral(server.current, a);
    const [hook] = await hooks.receivedAtLeast(1);
    const verified = new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>) as Body;
    const { referralChanges } = await a.api.data(`{ referralChanges { edges { cursor node { action referral { id } } } } }`);
    const change = referralChanges.edges.find((edge: { node: { referral: { id: string } } }) => edge.node.referral.id === id);
    expect(verified).to.deep.equal({
      type: "referral.received",
      timestamp: verified.timestamp,
      data: { referralId: id, status: "NEW", version: 1, cursor: change.cursor },
    });
    expect(hook.headers["content-type"]).to.equal("application/json");
    expect(Math.abs(Number(hook.headers["webhook-timestamp"]) - Date.now() / 1000)).to.be.below(30);
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(24, 1).toString("base64")}`).verify(hook.body, hook.headers as Record<string, string>),
    ).to.throw();
  });

  it("retries a failing receiver with the same webhook-id until it answers 2xx: three attempts, SUCCEEDED", async () => {
    const hooks = await receiver();
    hooks.answers = [500, 503];
    const endpoint = await endpointFor(a.api, hooks.url, ["REFERRAL_RECEIVED"]);
    const id = await newReferral(server.current, a);
    const attempts = await hooks.receivedAtLeast(3);
    expect(new Set(attempts.map((hook) => hook.headers["webhook-id"])).size).to.equal(1);
    expect(attempts.map((hook) => bodyOf(hook).data.referralId)).to.deep.equal([id, id, id]);
    await eventually("the delivery is SUCCEEDED", async () => {
      const { webhookDeliveries } = await a.api.data(DELIVERIES, { e: endpoint.id });
      return webhookDeliveries.edges[0]?.node.status === "SUCCEEDED";
    });
    const { webhookDeliveries } = await a.api.data(DELIVERIES, { e: endpoint.id });
    expect(webhookDeliveries.edges).to.have.length(1);
    const { node } = webhookDeliveries.edges[0];
    expect(node).to.include({
      id: attempts[0].headers["webhook-id"],
      eventType: "REFERRAL_RECEIVED",
      referralId: id,
      status: "SUCCEEDED",
      attempts: 3,
      lastResponseStatus: 200,
      nextAttemptAt: null,
    });
    expect(node.endpoint).to.deep.equal({ id: endpoint.id });
  });

  it("gives up after the schedule: FAILED, with the last status, and redeliverWebhook sends it again with the same id", async () => {
    const hooks = await receiver();
    hooks.otherwise = 500;
    const endpoint = await endpointFor(a.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, a);
    await hooks.receivedAtLeast(4);
    await eventually("the delivery is FAILED", async () => {
      const { webhookDeliveries } = await a.api.data(DELIVERIES, { e: endpoint.id, status: "FAILED" });
      return webhookDeliveries.edges.length === 1;
    });
    const { webhookDeliveries } = await a.api.data(DELIVERIES, { e: endpoint.id });
    expect(webhookDeliveries.edges[0].node).to.include({ status: "FAILED", attempts: 4, lastResponseStatus: 500 });
    hooks.otherwise = 204;
    const { redeliverWebhook } = await a.api.data(`mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { id status } }`, {
      d: webhookDeliveries.edges[0].node.id,
    });
    expect(redeliverWebhook).to.deep.equal({ id: webhookDeliveries.edges[0].node.id, status: "PENDING" });
    const all = await hooks.receivedAtLeast(5);
    expect(all[4].headers["webhook-id"]).to.equal(all[0].headers["webhook-id"]);
    await eventually("the delivery is SUCCEEDED", async () => {
      const { webhookDeliveries: after } = await a.api.data(DELIVERIES, { e: endpoint.id });
      return after.edges[0].node.status === "SUCCEEDED" && after.edges[0].node.lastResponseStatus === 204;
    });
  });

  it("never posts partner A's referrals to partner B's endpoint", async () => {
    const [ofA, ofB] = [await receiver(), await receiver()];
    await endpointFor(a.api, ofA.url);
    await endpointFor(b.api, ofB.url);
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [a.id] });
    await a.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: referralIds[0] });
    const toA = await ofA.receivedAtLeast(2);
    expect(toA.map((hook) => bodyOf(hook).type)).to.deep.equal(["referral.received", "referral.updated"]);
    const onlyB = await newReferral(server.current, b);
    const [toB] = await ofB.receivedAtLeast(1);
    expect(bodyOf(toB).data.referralId).to.equal(onlyB);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ofB.received.map((hook) => bodyOf(hook).data.referralId)).to.deep.equal([onlyB]);
  });

  it("keeps one referral's changes in order at an endpoint, even when an earlier one had to be retried", async () => {
    const hooks = await receiver();
    hooks.answers = [500];
    await endpointFor(a.api, hooks.url);
    const id = await newReferral(server.current, a);
    await a.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
    await a.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-9") { id } }`, { id });
    const received = await hooks.receivedAtLeast(4);
    // The first attempt of version 1 failed; its retry still comes before versions 2 and 3.
    expect(received.map((hook) => bodyOf(hook).data.version)).to.deep.equal([1, 1, 2, 3]);
  });

  it("never claims again a delivery it still has in flight, even when its row says it is due", async function () {
    this.timeout(20_000);
    const hooks = await receiver();
    hooks.answers = ["hang"];
    await endpointFor(a.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, a);
    await hooks.receivedAtLeast(1);
    // As a lease that ran out would leave it.
    await server.current.db.query("UPDATE outbox_messages SET lease_token = NULL, next_attempt_at = NOW(3) WHERE channel = ?", [
      WEBHOOK_CHANNEL,
    ]);
    server.current.outbox.nudge(WEBHOOK_CHANNEL);
    // The hanging attempt ends at WEBHOOK_TIMEOUT; only then is the delivery sent again.
    const [first, second] = await hooks.receivedAtLeast(2);
    expect(second.headers["webhook-id"]).to.equal(first.headers["webhook-id"]);
    expect(second.hangingAlongside).to.equal(0);
  });

  it("does not let an endpoint that never answers delay another partner's endpoint", async function () {
    this.timeout(20_000);
    const [stuck, healthy] = [await receiver(), await receiver()];
    stuck.otherwise = "hang";
    await endpointFor(a.api, stuck.url);
    await endpointFor(b.api, healthy.url);
    // More of A's deliveries than an instance has slots pile up behind an endpoint that holds every request for the whole timeout.
    await Promise.all(Array.from({ length: 20 }, () => newReferral(server.current, a)));
    await stuck.receivedAtLeast(2);
    const sent = Date.now();
    await newReferral(server.current, b);
    const [hook] = await healthy.receivedAtLeast(1, 5000);
    expect(hook.at - sent).to.be.below(1000);
  });
});

describe("webhooks > a receiver slower than the lease", () => {
  // A lease of 3 s: each attempt is aborted at its deadline, 1.5 s, long before WEBHOOK_TIMEOUT (10 s).
  const LEASE_MS = 3000;
  const server = useTestServer({ WEBHOOK_RETRY_SCHEDULE: "1s,1s,1s,1s" }, { outboxLeaseMs: LEASE_MS });
  let hooks: WebhookReceiver;
  afterEach(async () => {
    await hooks?.stop();
  });

  it("aborts an attempt at its deadline, counts it as failed and retries it: never two requests at once", async () => {
    hooks = await new WebhookReceiver().start();
    hooks.otherwise = "hang";
    const partner = await createPartner(server.current);
    const endpoint = await endpointFor(partner.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, partner);
    await eventually("the first attempt is recorded as failed", async () => {
      const { webhookDeliveries } = await partner.api.data(DELIVERIES, { e: endpoint.id });
      return webhookDeliveries.edges[0]?.node.attempts >= 1;
    });
    const [{ lastError }] = await server.current.db.query("SELECT last_error AS lastError FROM outbox_messages WHERE channel = ?", [
      WEBHOOK_CHANNEL,
    ]);
    expect(lastError).to.equal("aborted at the delivery's deadline: no outcome within 1500 ms");
    await eventually("the aborted request is closed", async () => hooks.stillHanging === 0);

    hooks.otherwise = 200;
    await eventually("the delivery is SUCCEEDED", async () => {
      const { webhookDeliveries } = await partner.api.data(DELIVERIES, { e: endpoint.id });
      return webhookDeliveries.edges[0].node.status === "SUCCEEDED";
    });
    // Longer than a lease: a second claim of an attempt that was not really stopped would show by now.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
    const { webhookDeliveries } = await partner.api.data(DELIVERIES, { e: endpoint.id });
    const { node } = webhookDeliveries.edges[0];
    expect(hooks.received.length).to.be.at.least(2);
    expect(hooks.received.map((hook) => hook.headers["webhook-id"])).to.deep.equal(hooks.received.map(() => node.id));
    expect(hooks.received.map((hook) => hook.hangingAlongside)).to.deep.equal(hooks.received.map(() => 0));
    expect(node).to.include({ status: "SUCCEEDED", attempts: hooks.received.length, lastResponseStatus: 200 });
  });
});

describe("webhooks > delivery from two instances", () => {
  const servers: TestServer[] = [];
  let hooks: WebhookReceiver;

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await hooks?.stop();
  });

  it("delivers each change once to the endpoint although both instances relay", async function () {
    this.timeout(30_000);
    const first = await startTestServer();
    servers.push(first, await startTestServer());
    hooks = await new WebhookReceiver().start();
    const partner = await createPartner(first);
    await endpointFor(partner.api, hooks.url);
    const [one, two] = servers;
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => newReferral(i % 2 === 0 ? one : two, partner)));
    const received = await hooks.receivedAtLeast(20, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received).to.have.length(20);
    expect(new Set(received.map((hook) => hook.headers["webhook-id"])).size).to.equal(20);
    expect(received.map((hook) => bodyOf(hook).data.referralId).sort()).to.deep.equal([...ids].sort());
  });
});
