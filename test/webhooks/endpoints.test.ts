import { expect } from "chai";
import { createPartner, expectTablesUnchanged, newReferral, snapshotTables, uniqueName, type TestPartner } from "../support/fixtures.js";
import { startEmptyServer, startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { memoryLogger } from "../support/logs.js";
import { TestSmtpServer } from "../support/smtp.js";
import { eventually } from "../support/wait.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { CREATE_ENDPOINT, DELIVERIES, endpointFor } from "../support/webhooks.js";

const ENDPOINTS = `{ webhookEndpoints { id url events enabled disabledReason partner { id } } }`;
const SET_ENABLED = `mutation($id: ID!, $enabled: Boolean!) { setWebhookEndpointEnabled(id: $id, enabled: $enabled) { id enabled disabledReason } }`;

describe("webhooks > endpoints", () => {
  const server = useTestServer({ WEBHOOK_RETRY_SCHEDULE: "100ms" });
  let a: TestPartner;
  let hooks: WebhookReceiver;

  before(async () => {
    hooks = await new WebhookReceiver().start();
  });
  after(async () => {
    await hooks.stop();
  });
  beforeEach(async () => {
    a = await createPartner(server.current);
  });

  it("creates an endpoint for a PARTNER key's own partner, lists it, and never shows the secret again", async () => {
    const { createWebhookEndpoint } = await a.api.data(CREATE_ENDPOINT, {
      url: hooks.url,
      events: ["REFERRAL_UPDATED", "REFERRAL_RECEIVED", "REFERRAL_UPDATED"],
    });
    const { endpoint } = createWebhookEndpoint;
    expect(endpoint).to.deep.equal({
      id: endpoint.id,
      url: hooks.url,
      events: ["REFERRAL_RECEIVED", "REFERRAL_UPDATED"],
      enabled: true,
      partner: { id: a.id },
    });
    expect(await a.api.data(ENDPOINTS)).to.deep.equal({
      webhookEndpoints: [{ ...endpoint, disabledReason: null }],
    });
    const { webhookEndpoints } = await server.current.admin.data(ENDPOINTS);
    expect(webhookEndpoints.map((e: { id: string }) => e.id)).to.include(endpoint.id);
  });

  it("makes an ADMIN name the partner, refuses a PARTNER key naming another, and refuses empty events", async () => {
    const b = await createPartner(server.current);
    const noPartner = await server.current.admin.error(CREATE_ENDPOINT, { url: hooks.url, events: ["REFERRAL_RECEIVED"] });
    expect(noPartner).to.include({ code: "BAD_USER_INPUT" });
    expect(noPartner.extensions?.field).to.equal("partnerId");
    const unknown = await server.current.admin.error(CREATE_ENDPOINT, {
      url: hooks.url,
      events: ["REFERRAL_RECEIVED"],
      partnerId: "987654321",
    });
    expect(unknown.code).to.equal("NOT_FOUND");
    const { createWebhookEndpoint } = await server.current.admin.data(CREATE_ENDPOINT, {
      url: hooks.url,
      events: ["REFERRAL_RECEIVED"],
      partnerId: b.id,
    });
    expect(createWebhookEndpoint.endpoint.partner).to.deep.equal({ id: b.id });
    expect((await a.api.error(CREATE_ENDPOINT, { url: hooks.url, events: ["REFERRAL_RECEIVED"], partnerId: b.id })).code).to.equal(
      "FORBIDDEN",
    );
    const empty = await a.api.error(CREATE_ENDPOINT, { url: hooks.url, events: [] });
    expect(empty.code).to.equal("BAD_USER_INPUT");
    const analyst = await server.current.admin.data(
      `mutation { issueApiKey(input: { role: ANALYST, label: "${uniqueName("analyst")}" }) { secret } }`,
    );
    expect((await server.current.client(analyst.issueApiKey.secret).error(ENDPOINTS)).code).to.equal("FORBIDDEN");
  });

  it("holds a partner to 10 endpoints", async () => {
    for (let i = 0; i < 10; i++) await endpointFor(a.api, `${hooks.url}/${i}`);
    const refused = await a.api.error(CREATE_ENDPOINT, { url: hooks.url, events: ["REFERRAL_RECEIVED"] });
    expect(refused).to.include({ code: "BAD_USER_INPUT" });
    expect(refused.message).to.contain("at most 10");
  });

  it("stops deliveries while disabled by its owner, and resumes for new changes once enabled", async () => {
    const endpoint = await endpointFor(a.api, hooks.url, ["REFERRAL_RECEIVED"]);
    const { setWebhookEndpointEnabled: off } = await a.api.data(SET_ENABLED, { id: endpoint.id, enabled: false });
    expect(off.enabled).to.equal(false);
    expect(off.disabledReason).to.match(/^disabled by /);
    const whileOff = await newReferral(server.current, a);
    await server.current.sequencer.settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.received.some((hook) => hook.body.includes(`"${whileOff}"`))).to.equal(false);
    expect(await a.api.data(SET_ENABLED, { id: endpoint.id, enabled: true })).to.deep.equal({
      setWebhookEndpointEnabled: { id: endpoint.id, enabled: true, disabledReason: null },
    });
    const afterOn = await newReferral(server.current, a);
    await eventually("the new referral is posted", async () => hooks.received.some((hook) => hook.body.includes(`"${afterOn}"`)));
  });

  it("deletes an endpoint with its deliveries; it is NOT_FOUND afterwards", async () => {
    const endpoint = await endpointFor(a.api, hooks.url, ["REFERRAL_RECEIVED"]);
    await newReferral(server.current, a);
    await eventually(
      "a delivery exists",
      async () => (await a.api.data(DELIVERIES, { e: endpoint.id })).webhookDeliveries.edges.length === 1,
    );
    expect(await a.api.data(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: endpoint.id })).to.deep.equal({
      deleteWebhookEndpoint: true,
    });
    expect((await a.api.error(DELIVERIES, { e: endpoint.id })).code).to.equal("NOT_FOUND");
    const [{ left }] = await server.current.db.query("SELECT COUNT(*) AS `left` FROM outbox_messages WHERE endpoint_id = ?", [endpoint.id]);
    expect(Number(left)).to.equal(0);
  });
});

describe("webhooks > safe URLs by default, in every mode", () => {
  // As a deployment that forgot NODE_ENV: no opt-in.
  const server = useTestServer({ NODE_ENV: "", LOG_LEVEL: "silent", WEBHOOK_ALLOW_PRIVATE_URLS: "" });

  for (const url of [
    "https://93.184.216.34:22/hooks",
    "http://hooks.example.com/in",
    "https://127.0.0.1/hooks",
    "https://localhost:8443/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://10.0.0.7/x",
    "ftp://example.com/x",
  ]) {
    it(`refuses ${url} with BAD_USER_INPUT naming input.url, and creates nothing`, async () => {
      const partner = await createPartner(server.current);
      const before = await snapshotTables(server.current);
      const refused = await partner.api.error(CREATE_ENDPOINT, { url, events: ["REFERRAL_RECEIVED"] });
      expect(refused.code).to.equal("BAD_USER_INPUT");
      expect(refused.extensions?.field).to.equal("input.url");
      await expectTablesUnchanged(server.current, before);
    });
  }
});

describe("webhooks > private targets, an explicit opt-in", () => {
  const started: TestServer[] = [];
  afterEach(async () => {
    for (const running of started.splice(0)) await running.stop();
  });

  it("is off unless WEBHOOK_ALLOW_PRIVATE_URLS=true, which the start log then says", async () => {
    const optIn = /^WEBHOOK_ALLOW_PRIVATE_URLS is true: partners' webhook endpoints may use http:\/\/ and target loopback, private/;
    for (const [setting, allowed] of [
      ["", false],
      ["false", false],
      ["true", true],
    ] as const) {
      const logs: Record<string, any>[] = [];
      const running = await startTestServer(
        { NODE_ENV: "development", WEBHOOK_ALLOW_PRIVATE_URLS: setting },
        { logger: memoryLogger(logs) },
      );
      started.push(running);
      const warnings = logs.filter((line) => line.level === 40 && optIn.test(line.msg));
      expect(warnings, `WEBHOOK_ALLOW_PRIVATE_URLS="${setting}"`).to.have.length(allowed ? 1 : 0);
      const partner = await createPartner(running);
      const answer = await partner.api.request(CREATE_ENDPOINT, { url: "http://127.0.0.1:8080/hooks", events: ["REFERRAL_RECEIVED"] });
      expect(answer.errors?.[0]?.extensions?.code ?? "created", setting).to.equal(allowed ? "created" : "BAD_USER_INPUT");
    }
  });
});

describe("webhooks > an endpoint failing for too long", () => {
  let smtp: TestSmtpServer;
  let failing: TestServer;
  let hooks: WebhookReceiver;

  before(async function () {
    this.timeout(60_000);
    smtp = await TestSmtpServer.start();
    hooks = await new WebhookReceiver().start();
    failing = await startEmptyServer({
      SMTP_URL: smtp.url,
      WEBHOOK_RETRY_SCHEDULE: "200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
      WEBHOOK_DISABLE_AFTER: "1s",
    });
  });
  after(async () => {
    await failing?.stop();
    await smtp?.stop();
    await hooks?.stop();
  });

  it("is disabled with its reason, its pending deliveries FAILED, and its profile contact told by e-mail", async function () {
    this.timeout(20_000);
    hooks.otherwise = 500;
    const address = `ops-${process.pid}@partner.example`;
    const partner = await createPartner(failing, uniqueName("Failing"), { contactEmail: address });
    const endpoint = await endpointFor(partner.api, hooks.url);
    await newReferral(failing, partner);
    await eventually("the endpoint is disabled", async () => !(await partner.api.data(ENDPOINTS)).webhookEndpoints[0].enabled, 10_000);
    const [listed] = (await partner.api.data(ENDPOINTS)).webhookEndpoints;
    expect(listed.disabledReason).to.match(/^failing since .*\(last attempt: the endpoint answered HTTP 500\)$/);
    const { webhookDeliveries } = await partner.api.data(DELIVERIES, { e: endpoint.id });
    expect(webhookDeliveries.edges.map((edge: { node: { status: string } }) => edge.node.status)).to.deep.equal(["FAILED"]);
    const notices = () => smtp.received.filter((mail) => mail.to === address && mail.subject === "Your webhook endpoint was disabled");
    await eventually("the contact got the e-mail", async () => notices().length > 0);
    expect(notices()[0].text).to.contain(hooks.url);
    // Disabled once: one e-mail, however many attempts failed after.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(notices()).to.have.length(1);
    const attempts = hooks.received.length;
    await newReferral(failing, partner);
    await failing.sequencer.settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.received).to.have.length(attempts);
  });
});
