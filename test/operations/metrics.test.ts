import { expect } from "chai";
import { createPartner, submitRfi } from "../support/fixtures.js";
import { ADMIN_KEY, useTestServer, type TestServer } from "../support/harness.js";
import { liveClient, subscribe, subscriptionsReach } from "../support/live.js";
import { eventually } from "../support/wait.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { endpointFor } from "../support/webhooks.js";

const TOKEN = "metrics-token-for-the-tests-0123456789";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text, parsed into its samples (comments left out). */
function samplesOf(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

class Scrape {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = samplesOf(text);
  }

  /** The value of the series `name` with exactly these labels; 0 when it does not exist (yet). */
  value(name: string, labels: Record<string, string> = {}): number {
    const wanted = JSON.stringify(Object.entries(labels).sort());
    const found = this.samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted);
    return found?.value ?? 0;
  }

  has(name: string, labels: Record<string, string> = {}): boolean {
    const wanted = JSON.stringify(Object.entries(labels).sort());
    return this.samples.some((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted);
  }
}

function metricsUrl(server: TestServer): string {
  return server.url.replace(/\/graphql$/, "/metrics");
}

async function scrape(server: TestServer): Promise<Scrape> {
  const response = await fetch(metricsUrl(server), { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).to.equal(200);
  expect(response.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
  return new Scrape(await response.text());
}

async function post(server: TestServer, body: string, key = ADMIN_KEY): Promise<number> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body,
  });
  await response.text();
  return response.status;
}

const OPS = "graphql_operations_total";
const DURATION_COUNT = "graphql_operation_duration_seconds_count";

describe("operations > metrics (GET /metrics)", () => {
  // Short deadlines, so that one expires within the test; webhook retries far away, so that a failed one stays pending.
  const server = useTestServer({
    METRICS_TOKEN: TOKEN,
    NEW_REFERRAL_RESPONSE_WINDOW: "2s",
    EXPIRY_SWEEP_EVERY: "1h",
    WEBHOOK_RETRY_SCHEDULE: "1h",
  });

  it("needs `Authorization: Bearer <METRICS_TOKEN>`: 401 without it, with another token or another scheme", async () => {
    for (const authorization of [undefined, "Bearer wrong-token", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const response = await fetch(metricsUrl(server.current), { headers: authorization ? { authorization } : {} });
      expect(response.status, String(authorization)).to.equal(401);
      expect(response.headers.get("www-authenticate")).to.equal('Bearer realm="metrics"');
      expect(await response.text()).to.not.include("graphql_operations_total");
    }
    const ok = await fetch(metricsUrl(server.current), { headers: { authorization: `bearer ${TOKEN}` } });
    expect(ok.status).to.equal(200);
  });

  it("exposes every metric the issue names, the gauges for every state and channel, and Node's default metrics", async () => {
    const { text, samples } = await scrape(server.current);
    for (const name of [
      "graphql_operations_total",
      "graphql_operation_duration_seconds",
      "db_pool_connections",
      "live_sockets",
      "live_subscriptions",
      "deadline_lateness_seconds",
      "outbox_pending",
      "outbox_oldest_pending_age_seconds",
      "notification_attempts_total",
      "webhook_attempts_total",
      "rate_limited_total",
    ]) {
      expect(text, name).to.match(new RegExp(`^# TYPE ${name.replace(/_total$/, "")}(_total)? (counter|gauge|histogram)$`, "m"));
    }
    const states = samples.filter((s) => s.name === "db_pool_connections").map((s) => s.labels.state);
    expect(states.sort()).to.deep.equal(["idle", "in_use", "waiting"]);
    for (const name of ["outbox_pending", "outbox_oldest_pending_age_seconds"]) {
      expect(
        samples
          .filter((s) => s.name === name)
          .map((s) => s.labels.channel)
          .sort(),
        name,
      ).to.deep.equal(["email", "webhook"]);
    }
    expect(samples.some((s) => s.name === "live_sockets")).to.equal(true);
    expect(samples.some((s) => s.name === "live_subscriptions")).to.equal(true);
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(
        samples.some((s) => s.name === name),
        name,
      ).to.equal(true);
    }
  });

  it("counts and times operations by root field (never the client's operation name), type and outcome", async () => {
    const before = await scrape(server.current);
    const referralsOk = { operation: "referrals", type: "query", outcome: "ok" };
    expect(
      await post(server.current, JSON.stringify({ query: "query MyOwnDashboardName { referrals(first: 1) { totalCount } }" })),
    ).to.equal(200);
    // A mutation that runs and fails.
    await post(server.current, JSON.stringify({ query: 'mutation { expressInterest(id: "999999999") { id } }' }));
    // Refused before running: invalid, unparsable, over the limits, a bad key.
    await post(server.current, JSON.stringify({ query: "{ noSuchField }" }));
    await post(server.current, JSON.stringify({ query: "{ referrals(first: 1) { totalCount " }));
    await post(server.current, JSON.stringify({ query: "{ me { role } }" }), "prk_not_a_key_at_all");

    const after = await scrape(server.current);
    expect(after.text).to.include('graphql_operations_total{operation="referrals",type="query",outcome="ok"}');
    expect(after.value(OPS, referralsOk) - before.value(OPS, referralsOk)).to.equal(1);
    expect(after.value(DURATION_COUNT, referralsOk) - before.value(DURATION_COUNT, referralsOk)).to.equal(1);
    expect(after.value("graphql_operation_duration_seconds_sum", referralsOk)).to.be.above(0);
    const moved = (labels: Record<string, string>) => after.value(OPS, labels) - before.value(OPS, labels);
    expect(moved({ operation: "expressInterest", type: "mutation", outcome: "error" })).to.equal(1);
    expect(moved({ operation: "unknown", type: "query", outcome: "refused" })).to.equal(1);
    expect(moved({ operation: "unknown", type: "unknown", outcome: "refused" })).to.equal(2);
    expect(after.text).to.not.include("MyOwnDashboardName");
    expect(after.text).to.not.include("noSuchField");
    // Every operation label is a root field of the schema, or unknown.
    const fields = new Set(after.samples.filter((s) => s.name === OPS).map((s) => s.labels.operation));
    for (const field of fields)
      expect(["referrals", "expressInterest", "unknown", "createPartner", "upsertMarketingProfile", "me"]).to.include(field);
  });

  it("counts e-mail and webhook attempts by outcome, and shows the outbox backlog per channel with its oldest age", async () => {
    const receiver = await new WebhookReceiver().start();
    receiver.otherwise = 500;
    try {
      const before = await scrape(server.current);
      const partner = await createPartner(server.current);
      await endpointFor(partner.api, receiver.url, ["REFERRAL_RECEIVED"]);
      await submitRfi(server.current.admin, { partnerIds: [partner.id] });
      await receiver.receivedAtLeast(1);
      let after = before;
      await eventually("an e-mail is counted as delivered and a webhook as failed", async () => {
        after = await scrape(server.current);
        return (
          after.value("notification_attempts_total", { outcome: "delivered" }) >
            before.value("notification_attempts_total", { outcome: "delivered" }) &&
          after.value("webhook_attempts_total", { outcome: "failed" }) > before.value("webhook_attempts_total", { outcome: "failed" })
        );
      });
      // The failed webhook waits an hour for its retry: it is in the backlog.
      expect(after.value("outbox_pending", { channel: "webhook" })).to.be.at.least(1);
      expect(after.value("outbox_oldest_pending_age_seconds", { channel: "webhook" })).to.be.above(0);
      expect(after.has("outbox_pending", { channel: "email" })).to.equal(true);
    } finally {
      await receiver.stop();
    }
  });

  it("observes how late each expired referral was (deadline_lateness_seconds)", async () => {
    const before = await scrape(server.current);
    const partner = await createPartner(server.current);
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [partner.id] });
    await eventually(
      "the referral is MISSED",
      async () =>
        (await server.current.admin.data(`query($id: ID!) { referral(id: $id) { status } }`, { id: referralIds[0] })).referral.status ===
        "MISSED",
      15_000,
    );
    const after = await scrape(server.current);
    const count = after.value("deadline_lateness_seconds_count") - before.value("deadline_lateness_seconds_count");
    const sum = after.value("deadline_lateness_seconds_sum") - before.value("deadline_lateness_seconds_sum");
    expect(count).to.be.at.least(1);
    // Expired within a few seconds of its deadline.
    expect(sum / count).to.be.within(0, 5);
  });

  it("reads the pool, the live sockets and the live subscriptions at each scrape", async () => {
    const pool = await scrape(server.current);
    expect(pool.value("db_pool_connections", { state: "idle" }) + pool.value("db_pool_connections", { state: "in_use" })).to.be.at.least(1);
    const live = liveClient(server.current, ADMIN_KEY);
    try {
      const subscription = subscribe(live.client, "subscription { referralReceived { id } }");
      await subscriptionsReach(server.current, 1);
      const open = await scrape(server.current);
      expect(open.value("live_sockets")).to.equal(1);
      expect(open.value("live_subscriptions")).to.equal(1);
      subscription.stop();
    } finally {
      await live.dispose();
    }
    await subscriptionsReach(server.current, 0);
    await eventually("the socket is closed", async () => (await scrape(server.current)).value("live_sockets") === 0);
  });
});
