import { expect } from "chai";
import type { QueryRunner } from "typeorm";
import { poolUsage } from "../../src/db/pool.js";
import { withoutRequestIds } from "../support/client.js";
import {
  createPartner,
  issueKey,
  rfiInput,
  expectTablesUnchanged,
  snapshotTables,
  SUBMIT_RFI,
  type TestPartner,
} from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";
import { liveClient } from "../support/live.js";
import { testDatabase, truncateAll } from "../support/database.js";
import { purgeNamespace } from "../support/redis.js";

const ME = `{ me { role } }`;

/** Holds `count` of the server's pooled connections until released. */
async function holdConnections(server: TestServer, count: number): Promise<{ release(): Promise<void> }> {
  const runners: QueryRunner[] = [];
  for (let i = 0; i < count; i++) {
    const runner = server.db.createQueryRunner();
    await runner.connect();
    runners.push(runner);
  }
  return { release: async () => void (await Promise.all(runners.map((runner) => runner.release()))) };
}

describe("database > connection pool", () => {
  const servers: TestServer[] = [];
  const start = async (overrides: Record<string, string>) => {
    const server = await startTestServer(overrides);
    servers.push(server);
    await truncateAll(server.db);
    await server.services.apiKeys.syncEnvironmentAdminKey(ADMIN_KEY);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    // Their deadline jobs name referral ids that the next tables, truncated, will hand out again.
    await purgeNamespace(testDatabase.database);
  });

  it("answers a burst of 100 automatic-routing submitRfi on a pool of 5, each with data or SERVICE_UNAVAILABLE, then serves at once", async () => {
    const server = await start({ DATABASE_POOL_SIZE: "5", DATABASE_ACQUIRE_TIMEOUT: "5s" });
    for (let i = 0; i < 5; i++) await createPartner(server);
    const intake = await issueKey(server, "INTAKE");

    const answers = await Promise.all(
      Array.from({ length: 100 }, () => intake.request(SUBMIT_RFI, { input: rfiInput({ maxPartners: 3 }) })),
    );
    const succeeded = answers.filter((answer) => answer.errors === undefined);
    const refused = answers.filter((answer) => answer.errors !== undefined);
    for (const answer of refused) {
      expect(
        answer.errors!.map((error) => error.extensions?.code),
        JSON.stringify(answer.errors),
      ).to.deep.equal(["SERVICE_UNAVAILABLE"]);
    }
    expect(succeeded.length, "most of the burst succeeds").to.be.greaterThan(0);
    for (const answer of succeeded) expect(answer.data!.submitRfi.referrals).to.have.length(3);
    // Nothing half-done: exactly the answered RFIs exist, each with its three referrals and their arrivals.
    const [{ rfis, referrals, events }] = await server.db.query(
      `SELECT (SELECT COUNT(*) FROM rfis) AS rfis, (SELECT COUNT(*) FROM referrals) AS referrals,
              (SELECT COUNT(*) FROM referral_events) AS events`,
    );
    expect([Number(rfis), Number(referrals), Number(events)]).to.deep.equal([succeeded.length, 3 * succeeded.length, 3 * succeeded.length]);
    expect((await server.admin.data(ME)).me.role).to.equal("ADMIN");
  });

  it("works on a pool of one connection: no path asks for a second connection inside its transaction", async () => {
    const server = await start({ DATABASE_POOL_SIZE: "1", DATABASE_ACQUIRE_TIMEOUT: "3s" });
    const partner = await createPartner(server);
    const other = await createPartner(server);
    const intake = await issueKey(server, "INTAKE");
    const routed = await intake.data(SUBMIT_RFI, { input: rfiInput({ maxPartners: 2 }) });
    expect(routed.submitRfi.referrals).to.have.length(2);
    const named = await intake.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id, other.id], idempotencyKey: "once" }) });
    const replayed = await intake.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id, other.id], idempotencyKey: "once" }) });
    expect(replayed.submitRfi.rfi.id).to.equal(named.submitRfi.rfi.id);
    const mine = (id: string) => named.submitRfi.referrals.find((referral: { partner: { id: string } }) => referral.partner.id === id).id;
    await decideEverything(partner, mine(partner.id), other, mine(other.id));
  });

  it("fails an HTTP request with SERVICE_UNAVAILABLE, status 503 and Retry-After when no connection frees in time", async () => {
    const server = await start({ DATABASE_POOL_SIZE: "2", DATABASE_ACQUIRE_TIMEOUT: "300ms" });
    const held = await holdConnections(server, 2);
    try {
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ query: ME }),
      });
      expect(response.status).to.equal(503);
      expect(response.headers.get("retry-after")).to.equal("1");
      const body = withoutRequestIds(
        (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] },
        response.headers.get("x-request-id"),
      );
      expect(body.errors.map((error) => error.extensions)).to.deep.equal([{ code: "SERVICE_UNAVAILABLE" }]);
      expect(body.errors[0].message).to.match(/no database connection became free within 300 ms/);
    } finally {
      await held.release();
    }
    expect((await server.admin.data(ME)).me.role).to.equal("ADMIN");
    expect(poolUsage(server.db).waiting).to.equal(0);
  });

  it("fails a decision over WebSocket with SERVICE_UNAVAILABLE when the pool is exhausted, and changes nothing", async () => {
    const server = await start({ DATABASE_POOL_SIZE: "2", DATABASE_ACQUIRE_TIMEOUT: "300ms" });
    const partner = await createPartner(server);
    const { submitRfi } = await server.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id] }) });
    const id = submitRfi.referrals[0].id;
    const live = liveClient(server, partner.api.key);
    try {
      // The socket authenticates while connections are free; the pool is exhausted afterwards.
      await new Promise<void>((resolve) => live.client.on("connected", () => resolve()));
      const before = await snapshotTables(server);
      const held = await holdConnections(server, 2);
      let result: { errors?: { extensions?: Record<string, unknown> }[] };
      try {
        result = await new Promise((resolve, reject) => {
          live.client.subscribe(
            { query: `mutation($id: ID!) { ignoreReferral(id: $id) { status } }`, variables: { id } },
            {
              next: (value) => resolve(value as typeof result),
              error: reject,
              complete: () => undefined,
            },
          );
        });
      } finally {
        await held.release();
      }
      expect(result.errors!.map((error) => error.extensions)).to.deep.equal([{ code: "SERVICE_UNAVAILABLE" }]);
      await expectTablesUnchanged(server, before);
      const { referral } = await partner.api.data(`query($id: ID!) { referral(id: $id) { status version } }`, { id });
      expect(referral).to.deep.equal({ status: "NEW", version: 1 });
    } finally {
      await live.dispose();
    }
  });

  it("runs 15 aliased dealSizeStats on at most STATS_CONCURRENCY connections, all answered", async () => {
    const server = await start({ STATS_CONCURRENCY: "2" });
    const partner = await createPartner(server);
    await referralWithDeal(server, partner);
    const connectionsBefore = poolUsage(server.db);
    const query = `{ ${Array.from({ length: 15 }, (_, i) => `s${i}: dealSizeStats(groupBy: [REGION]) { count median }`).join(" ")} }`;
    const data = await server.admin.data(query);
    expect(Object.values(data)).to.have.length(15);
    for (const rows of Object.values(data)) expect(rows).to.deep.equal([{ count: 1, median: "1234.50" }]);
    const after = poolUsage(server.db);
    // The key check takes one connection and gives it back; the statistics at most two more.
    expect(after.inUse + after.idle).to.be.at.most(Math.max(connectionsBefore.inUse + connectionsBefore.idle, 3));
  });

  it("refuses statistics that wait longer than STATS_WAIT_TIMEOUT for their turn with SERVICE_UNAVAILABLE", async () => {
    const server = await start({ STATS_CONCURRENCY: "1", STATS_WAIT_TIMEOUT: "1ms" });
    const query = `{ ${Array.from({ length: 15 }, (_, i) => `s${i}: closeDateStats(groupBy: [MONTH]) { count }`).join(" ")} }`;
    const { errors } = await server.admin.request(query);
    expect(errors, "some statements did not get a turn").to.be.an("array").that.is.not.empty;
    for (const error of errors!) {
      expect(error.extensions).to.deep.equal({ code: "SERVICE_UNAVAILABLE" });
      expect(error.message).to.match(/statistics are busy/);
    }
  });
});

/** Every partner decision, so that each runs through its transaction once. */
async function decideEverything(partner: TestPartner, id: string, other: TestPartner, otherId: string): Promise<void> {
  const estimate = `{ estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "2099-01-01" }`;
  for (const step of [
    `expressInterest(id: $id) { status }`,
    `setExternalReference(id: $id, externalReferenceId: "CRM-1") { status }`,
    `acceptReferral(id: $id, input: ${estimate}) { status }`,
    `updateDealEstimate(id: $id, input: ${estimate}) { status }`,
    `markReferralWon(id: $id) { status }`,
  ]) {
    await partner.api.data(`mutation($id: ID!) { ${step} }`, { id });
  }
  await other.api.data(`mutation($id: ID!) { expressInterest(id: $id) { status } }`, { id: otherId });
  await other.api.data(`mutation($id: ID!) { declineReferral(id: $id, reason: "busy") { status } }`, { id: otherId });
}

async function referralWithDeal(server: TestServer, partner: TestPartner): Promise<void> {
  const { submitRfi } = await server.admin.data(SUBMIT_RFI, { input: rfiInput({ partnerIds: [partner.id] }) });
  const id = submitRfi.referrals[0].id;
  await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
  await partner.api.data(
    `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "1234.50", currency: "EUR", estimatedCloseDate: "2099-01-01" }) { id } }`,
    { id },
  );
}
