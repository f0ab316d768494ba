import { expect } from "chai";
import { createPartner, newReferral, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import { eventually } from "../support/wait.js";
import { WebhookReceiver, type ReceivedWebhook } from "../support/webhook-receiver.js";
import { endpointFor } from "../support/webhooks.js";

const REDELIVER = `mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { id status } }`;
const EXPRESS_INTEREST = `mutation($id: ID!) { expressInterest(id: $id) { id } }`;
const SET_ENABLED = `mutation($id: ID!, $enabled: Boolean!) { setWebhookEndpointEnabled(id: $id, enabled: $enabled) { id } }`;

const idOf = (hook: ReceivedWebhook) => String(hook.headers["webhook-id"]);
const versionOf = (hook: ReceivedWebhook) => (JSON.parse(hook.body) as { data: { version: number } }).data.version;

describe("webhooks > redelivery", () => {
  // A failed attempt waits an hour for its retry: only a redelivery brings it forward.
  const server = useTestServer({ WEBHOOK_RETRY_SCHEDULE: "1h", WEBHOOK_TIMEOUT: "2s" });
  let partner: TestPartner;
  let hooks: WebhookReceiver;
  beforeEach(async () => {
    partner = await createPartner(server.current);
    hooks = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await hooks.stop();
  });

  /** A delivery's row, all that an attempt or a redelivery changes. */
  async function rowOf(id: string): Promise<{ status: string; attempts: number; nextAttemptAt: Date; leaseToken: string | null }> {
    const [row] = await server.current.db.query(
      "SELECT status, attempts, next_attempt_at AS nextAttemptAt, lease_token AS leaseToken, last_error AS lastError FROM outbox_messages WHERE id = ?",
      [id],
    );
    return row;
  }

  async function expectRefused(id: string): Promise<void> {
    const before = await rowOf(id);
    const refused = await partner.api.error(REDELIVER, { d: id });
    expect(refused.code).to.equal("BAD_USER_INPUT");
    expect(refused.extensions?.field).to.equal("deliveryId");
    expect(refused.message).to.include("delivery in progress");
    expect(await rowOf(id)).to.deep.equal(before);
  }

  it("refuses a delivery whose attempt is in flight with BAD_USER_INPUT 'delivery in progress': the receiver gets it once", async () => {
    hooks.answers = ["hang"];
    await endpointFor(partner.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, partner);
    const [first] = await hooks.receivedAtLeast(1);
    expect((await rowOf(idOf(first))).leaseToken).to.not.equal(null);
    await expectRefused(idOf(first));
    await eventually("the attempt ends at WEBHOOK_TIMEOUT", async () => (await rowOf(idOf(first))).attempts === 1);
    expect(hooks.received.map(idOf)).to.deep.equal([idOf(first)]);
  });

  it("refuses an old delivery while a newer one of its referral is pending, which it would overtake", async () => {
    hooks.answers = [200, 500];
    await endpointFor(partner.api, hooks.url);
    const referral = await newReferral(server.current, partner);
    await partner.api.data(EXPRESS_INTEREST, { id: referral });
    const [old, newer] = await hooks.receivedAtLeast(2);
    await eventually("the newer one waits for its retry", async () => (await rowOf(idOf(newer))).attempts === 1);
    expect(await rowOf(idOf(old))).to.include({ status: "SUCCEEDED" });
    expect(await rowOf(idOf(newer))).to.include({ status: "PENDING", leaseToken: null });
    await expectRefused(idOf(old));
    expect(hooks.received).to.have.length(2);
  });

  it("brings forward the retry of a delivery waiting for it; the newer ones of its referral follow in order", async () => {
    hooks.answers = [500];
    await endpointFor(partner.api, hooks.url);
    const referral = await newReferral(server.current, partner);
    const [failed] = await hooks.receivedAtLeast(1);
    await eventually("it waits for its retry", async () => (await rowOf(idOf(failed))).attempts === 1);
    // Queued behind the one waiting for its retry.
    await partner.api.data(EXPRESS_INTEREST, { id: referral });
    const { redeliverWebhook } = await partner.api.data(REDELIVER, { d: idOf(failed) });
    expect(redeliverWebhook).to.deep.equal({ id: idOf(failed), status: "PENDING" });
    const received = await hooks.receivedAtLeast(3);
    expect(received.map(versionOf)).to.deep.equal([1, 1, 2]);
    expect(idOf(received[1])).to.equal(idOf(failed));
  });

  it("refuses a delivery to a disabled endpoint until it is enabled again", async () => {
    const endpoint = await endpointFor(partner.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, partner);
    const [sent] = await hooks.receivedAtLeast(1);
    await eventually("it is SUCCEEDED", async () => (await rowOf(idOf(sent))).status === "SUCCEEDED");
    await partner.api.data(SET_ENABLED, { id: endpoint.id, enabled: false });
    const before = await rowOf(idOf(sent));
    const refused = await partner.api.error(REDELIVER, { d: idOf(sent) });
    expect(refused).to.include({ code: "BAD_USER_INPUT", message: `deliveryId: endpoint ${endpoint.id} is disabled; enable it first` });
    expect(await rowOf(idOf(sent))).to.deep.equal(before);
    await partner.api.data(SET_ENABLED, { id: endpoint.id, enabled: true });
    expect((await partner.api.data(REDELIVER, { d: idOf(sent) })).redeliverWebhook).to.deep.equal({ id: idOf(sent), status: "PENDING" });
    expect((await hooks.receivedAtLeast(2)).map(idOf)).to.deep.equal([idOf(sent), idOf(sent)]);
  });
});
