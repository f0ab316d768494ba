import { randomBytes } from "node:crypto";
import { expect } from "chai";
import type { Client } from "graphql-ws";
import { Role } from "../../src/graphql/role.js";
import { TcpProxy } from "../operations/tcp-proxy.js";
import { TEST_DATABASE_URL, testDatabase } from "../support/database.js";
import { createPartner, submitRfi, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, serversOnOwnDatabase, startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { liveClient, subscribe, subscriptionsReach, type Closed, type LiveClient } from "../support/live.js";
import { runAdminTool } from "../support/process.js";

const RECEIVED = `subscription { referralReceived { id } }`;
const RELOCATE = `mutation($partnerId: ID!, $id: ID!, $input: MarketingProfileInput!) {
  upsertMarketingProfile(partnerId: $partnerId, id: $id, input: $input) { id location }
}`;
/** How long a revoked key's socket may stay open: the README's "within 5 seconds", with room for a busy machine. */
const CLOSED_WITHIN_MS = 8000;

function closedWithin(live: LiveClient, ms: number): Promise<Closed | "still open"> {
  return Promise.race([live.closed, new Promise<"still open">((resolve) => setTimeout(() => resolve("still open"), ms))]);
}

async function keyIdOf(server: TestServer, partner: TestPartner): Promise<string> {
  const { apiKeys } = await server.admin.data(`{ apiKeys { id partner { id } } }`);
  return apiKeys.find((key: { partner: { id: string } | null }) => key.partner?.id === partner.id).id;
}

/** Runs an operation over the socket: its result, or its error, or how the socket closed meanwhile. */
function runOver(client: Client, live: LiveClient, query: string, variables: Record<string, unknown>): Promise<unknown> {
  const operation = subscribe(client, query, variables);
  return Promise.race([operation.next(5000), operation.failed, live.closed]);
}

describe("live > a socket's key, checked at connect and while the socket is open", () => {
  const server = useTestServer();
  const opened: LiveClient[] = [];
  const open = async (target: TestServer, key: string) => {
    const live = liveClient(target, key);
    opened.push(live);
    await new Promise<void>((resolve) => live.client.on("connected", () => resolve()));
    return live;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((live) => live.dispose()));
  });

  it("closes the socket with 4403 within seconds when `npm run admin -- revoke-key` runs without a shared bus", async function () {
    this.timeout(30_000);
    const partner = await createPartner(server.current);
    const live = await open(server.current, partner.api.key!);
    const arrivals = subscribe(live.client, RECEIVED);
    await subscriptionsReach(server.current, 1);

    // The server has no PUBSUB_URL: the tool's revocation cannot reach it but through the database.
    const revoked = await runAdminTool("cli", ["revoke-key", "--id", await keyIdOf(server.current, partner)], {
      DATABASE_URL: TEST_DATABASE_URL,
    });
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(await closedWithin(live, CLOSED_WITHIN_MS)).to.deep.equal({ code: 4403, reason: "Forbidden: API key revoked" });

    await submitRfi(server.current.admin, { partnerIds: [partner.id] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arrivals.received).to.deep.equal([]);
  });

  it("refuses an operation on the socket once the key's revocation is known to the instance, and closes it, changing nothing", async () => {
    const partner = await createPartner(server.current);
    const live = await open(server.current, partner.api.key!);
    const keyId = await keyIdOf(server.current, partner);
    // Revoked by another instance with no bus between them; this instance's memory of the key has run out.
    await server.current.db.query("UPDATE api_keys SET revoked_at = NOW(3), revoked_by = 'ADMIN' WHERE id = ?", [keyId]);
    server.current.services.apiKeys.forget(keyId);

    const outcome = await runOver(live.client, live, RELOCATE, {
      partnerId: partner.id,
      id: partner.profileId,
      input: { region: "FR", location: "Lyon", contactEmail: "referrals@partner.example", keywords: ["cloud"], preferredCompanySizes: [] },
    });
    expect(outcome).not.to.have.nested.property("data.upsertMarketingProfile");
    expect(await live.closed).to.deep.equal({ code: 4403, reason: "Forbidden: API key revoked" });
    const [profile] = await server.current.db.query("SELECT location FROM marketing_profiles WHERE id = ?", [partner.profileId]);
    expect(profile.location).to.equal("Paris");
  });

  it("tells a socket whose key cannot be checked (the database does not answer) to try again later (1013), not that it is refused", async function () {
    this.timeout(30_000);
    const proxy = await TcpProxy.start(testDatabase.port, testDatabase.host);
    const { user, database } = testDatabase;
    const behindProxy = await startTestServer({ DATABASE_URL: `mysql://${user}@127.0.0.1:${proxy.port}/${database}` });
    try {
      // A key this instance has never checked: it must ask the database.
      const { secret } = await behindProxy.services.apiKeys.issue({ role: Role.ADMIN, label: "never checked" });
      proxy.refuse();
      const live = liveClient(behindProxy, secret);
      opened.push(live);
      expect(await live.closed).to.deep.equal({ code: 1013, reason: "Try again later: the API key could not be checked" });
    } finally {
      proxy.restore();
      await behindProxy.stop();
      await proxy.close();
    }
  });

  describe("a retired ADMIN_API_KEY", () => {
    const own = serversOnOwnDatabase("live_rotation");

    it("closes the retired key's sockets on an instance that shares no bus with the one that rotated it", async function () {
      this.timeout(30_000);
      const old = await own.start();
      const live = await open(old, ADMIN_KEY);
      await own.start({ ADMIN_API_KEY: `rotated-admin-key-${randomBytes(24).toString("hex")}` });
      expect(await closedWithin(live, CLOSED_WITHIN_MS)).to.deep.equal({ code: 4403, reason: "Forbidden: API key revoked" });
    });
  });
});
