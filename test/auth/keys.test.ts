import { createHash, randomBytes } from "node:crypto";
import { expect } from "chai";
import { AdminKeyConflictError, ApiKeyService } from "../../src/auth/api-key.service.js";
import type { GraphQLClient } from "../support/client.js";
import { createPartner, uniqueName } from "../support/fixtures.js";
import { serversOnOwnDatabase, startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { liveClient } from "../support/live.js";
import { eventually } from "../support/wait.js";
import { memoryLogger } from "../support/logs.js";

const ME = `{ me { role label } }`;
const REFUSED = { status: 401, errors: [{ message: "this API key is unknown or revoked", extensions: { code: "UNAUTHENTICATED" } }] };
const KEY_FIELDS = `id role label partner { id name } createdAt lastUsedAt expiresAt revokedAt`;
const ISSUE = `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { id role label secret expiresAt } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) }`;

interface ListedKey {
  id: string;
  role: string;
  label: string;
  partner: { id: string; name: string } | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface Issued {
  id: string;
  role: string;
  label: string;
  secret: string;
  expiresAt: string | null;
  api: GraphQLClient;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function issue(server: TestServer, input: Record<string, unknown>, by: GraphQLClient = server.admin): Promise<Issued> {
  const { issueApiKey } = await by.data(ISSUE, { input: { label: uniqueName(`${input.role} key`), ...input } });
  return { ...issueApiKey, api: server.client(issueApiKey.secret) };
}

async function listKeys(server: TestServer, includeRevoked?: boolean): Promise<ListedKey[]> {
  const { apiKeys } = await server.admin.data(`query($r: Boolean) { apiKeys(includeRevoked: $r) { ${KEY_FIELDS} } }`, {
    r: includeRevoked,
  });
  return apiKeys;
}

async function lastUsedAt(server: TestServer, id: string): Promise<Date | null> {
  const [row] = await server.db.query("SELECT last_used_at FROM api_keys WHERE id = ?", [id]);
  return row.last_used_at;
}

describe("auth > keys", () => {
  const server = useTestServer();

  describe("apiKeys", () => {
    it("lists role, label, partner, created, last used, expiry and revocation, newest first; revoked keys only with includeRevoked", async () => {
      const partner = await createPartner(server.current);
      const startedAt = Date.now();
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const analyst = await issue(server.current, { role: "ANALYST", expiresAt });
      const partnerKey = await issue(server.current, { role: "PARTNER", partnerId: partner.id });
      const intake = await issue(server.current, { role: "INTAKE" });
      const admin = await issue(server.current, { role: "ADMIN" });
      const issuedAt = Date.now();
      expect(analyst.expiresAt).to.equal(expiresAt);
      expect(intake.expiresAt).to.equal(null);
      await server.current.admin.data(REVOKE, { id: intake.id });

      const listed = await listKeys(server.current);
      const mine = (keys: ListedKey[]) => keys.filter((key) => [analyst, partnerKey, intake, admin].some(({ id }) => id === key.id));
      expect(mine(listed).map(({ createdAt: _, ...rest }) => rest)).to.deep.equal([
        { id: admin.id, role: "ADMIN", label: admin.label, partner: null, lastUsedAt: null, expiresAt: null, revokedAt: null },
        {
          id: partnerKey.id,
          role: "PARTNER",
          label: partnerKey.label,
          partner: { id: partner.id, name: partner.name },
          lastUsedAt: null,
          expiresAt: null,
          revokedAt: null,
        },
        { id: analyst.id, role: "ANALYST", label: analyst.label, partner: null, lastUsedAt: null, expiresAt, revokedAt: null },
      ]);
      for (const key of mine(listed)) {
        expect(Date.parse(key.createdAt)).to.be.within(startedAt, issuedAt);
      }
      // The whole list is newest first, and holds no revoked key.
      const order = (keys: ListedKey[]) =>
        [...keys].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || Number(b.id) - Number(a.id)).map(({ id }) => id);
      expect(listed.map(({ id }) => id)).to.deep.equal(order(listed));
      expect(listed.every((key) => key.revokedAt === null)).to.equal(true);
      expect(listed.filter((key) => key.label === "ADMIN_API_KEY").map(({ role, partner }) => ({ role, partner }))).to.deep.equal([
        { role: "ADMIN", partner: null },
      ]);
      expect(await listKeys(server.current, false)).to.deep.equal(listed);

      const all = await listKeys(server.current, true);
      expect(all.map(({ id }) => id)).to.deep.equal(order(all));
      const revoked = all.find((key) => key.id === intake.id)!;
      expect(revoked).to.deep.include({ role: "INTAKE", label: intake.label, partner: null, expiresAt: null });
      expect(Date.parse(revoked.revokedAt!)).to.be.within(issuedAt, Date.now());
      expect(mine(all).map(({ id }) => id)).to.deep.equal([admin.id, intake.id, partnerKey.id, analyst.id]);
    });

    it("never shows a secret or its hash", async () => {
      const key = await issue(server.current, { role: "INTAKE" });
      const { errors } = await server.current.admin.request(`{ apiKeys { id secret } }`);
      expect(errors?.map((error) => error.extensions?.code)).to.deep.equal(["GRAPHQL_VALIDATION_FAILED"]);
      const answer = JSON.stringify(await server.current.admin.data(`{ apiKeys(includeRevoked: true) { ${KEY_FIELDS} } }`));
      const hashes: { secret_hash: string }[] = await server.current.db.query("SELECT secret_hash FROM api_keys");
      expect(hashes.length).to.be.greaterThan(1);
      for (const { secret_hash } of hashes) expect(answer).not.to.include(secret_hash);
      expect(answer).not.to.include(key.secret.slice(4));
    });

    it("is FORBIDDEN to PARTNER, INTAKE and ANALYST keys", async () => {
      const partner = await createPartner(server.current);
      const keys = [
        partner.api,
        (await issue(server.current, { role: "INTAKE" })).api,
        (await issue(server.current, { role: "ANALYST" })).api,
      ];
      for (const api of keys) {
        const error = await api.error(`{ apiKeys(includeRevoked: true) { id } }`);
        expect(error.code).to.equal("FORBIDDEN");
        expect(error.message).to.match(/^apiKeys needs a key with role ADMIN; this key is (PARTNER|INTAKE|ANALYST)$/);
      }
    });
  });

  describe("lastUsedAt", () => {
    it("is set at the first use, not rewritten within the minute by this instance or another, and rewritten after it", async () => {
      const key = await issue(server.current, { role: "ANALYST" });
      expect(await lastUsedAt(server.current, key.id)).to.equal(null);
      const before = Date.now();
      await key.api.data(ME);
      await eventually("the use is recorded", async () => (await lastUsedAt(server.current, key.id)) !== null, 3000);
      const first = (await lastUsedAt(server.current, key.id))!;
      expect(first.getTime()).to.be.within(before, Date.now());
      const listed = (await listKeys(server.current)).find(({ id }) => id === key.id)!;
      expect(listed.lastUsedAt).to.equal(first.toISOString());

      // This instance remembers it wrote it; another instance (a service of its own) is held back by the guard.
      for (let i = 0; i < 3; i++) await key.api.data(ME);
      await new ApiKeyService(server.current.db, () => undefined).authenticate(`Bearer ${key.secret}`);
      await sleep(300);
      expect(await lastUsedAt(server.current, key.id)).to.deep.equal(first);

      // A minute later (moved back here, not waited for), the next use records itself again.
      await server.current.db.query("UPDATE api_keys SET last_used_at = last_used_at - INTERVAL 2 MINUTE WHERE id = ?", [key.id]);
      const moved = (await lastUsedAt(server.current, key.id))!;
      const again = Date.now();
      await new ApiKeyService(server.current.db, () => undefined).authenticate(`Bearer ${key.secret}`);
      await eventually(
        "the later use is recorded",
        async () => (await lastUsedAt(server.current, key.id))!.getTime() !== moved.getTime(),
        3000,
      );
      expect((await lastUsedAt(server.current, key.id))!.getTime()).to.be.within(again, Date.now());
    });

    it("records a socket's key when it connects", async () => {
      const key = await issue(server.current, { role: "ANALYST" });
      const live = liveClient(server.current, key.secret);
      try {
        await new Promise<void>((resolve) => live.client.on("connected", () => resolve()));
        await eventually("the use is recorded", async () => (await lastUsedAt(server.current, key.id)) !== null, 3000);
      } finally {
        await live.dispose();
      }
    });
  });

  describe("expiry", () => {
    it("refuses an expiresAt that is not in the future with BAD_USER_INPUT naming input.expiresAt, issuing nothing", async () => {
      const [{ count: before }] = await server.current.db.query("SELECT COUNT(*) AS count FROM api_keys");
      for (const expiresAt of [new Date(Date.now() - 60_000).toISOString(), "2020-01-01T00:00:00.000Z"]) {
        const error = await server.current.admin.error(ISSUE, { input: { role: "INTAKE", label: "too late", expiresAt } });
        expect(error.code).to.equal("BAD_USER_INPUT");
        expect(error.extensions?.field).to.equal("input.expiresAt");
        expect(error.message).to.match(/^input\.expiresAt: must be in the future/);
      }
      const [{ count: after }] = await server.current.db.query("SELECT COUNT(*) AS count FROM api_keys");
      expect(Number(after)).to.equal(Number(before));
    });

    it("refuses an expired key like a revoked one, over HTTP (remembered or not) and over WebSocket (open sockets closed with 4403)", async function () {
      this.timeout(15_000);
      const expiresAt = new Date(Date.now() + 2000);
      const key = await issue(server.current, { role: "ADMIN", expiresAt: expiresAt.toISOString() });
      expect((await key.api.data(ME)).me.role).to.equal("ADMIN");
      const live = liveClient(server.current, key.secret);
      await new Promise<void>((resolve) => live.client.on("connected", () => resolve()));

      // Used shortly before its expiry, so the instance remembers it (for 5 seconds) when it expires.
      await sleep(Math.max(0, expiresAt.getTime() - Date.now() - 400));
      expect((await key.api.data(ME)).me.role).to.equal("ADMIN");
      const closed = await live.closed;
      expect(Date.now()).to.be.at.least(expiresAt.getTime());
      expect(closed).to.deep.equal({ code: 4403, reason: "Forbidden: API key expired" });
      await live.dispose();
      await sleep(Math.max(0, expiresAt.getTime() - Date.now() + 20));

      const revoked = await issue(server.current, { role: "ADMIN" });
      await server.current.admin.data(REVOKE, { id: revoked.id });
      expect(await revoked.api.request(ME)).to.deep.equal(REFUSED);
      expect(await key.api.request(ME)).to.deep.equal(REFUSED);
      // An instance that never saw it refuses it too.
      const fresh = new ApiKeyService(server.current.db, () => undefined);
      let refused: unknown;
      await fresh.authenticate(`Bearer ${key.secret}`).catch((error: unknown) => (refused = error));
      expect((refused as { extensions?: { code?: string } }).extensions?.code).to.equal("UNAUTHENTICATED");

      const late = liveClient(server.current, key.secret);
      expect((await late.closed).code).to.equal(4403);
      await late.dispose();

      const listed = (await listKeys(server.current)).find(({ id }) => id === key.id)!;
      expect(listed).to.deep.include({ expiresAt: expiresAt.toISOString(), revokedAt: null });
    });
  });

  describe("ADMIN_API_KEY across restarts", () => {
    const started: TestServer[] = [];
    const start = async (overrides: Record<string, string>) => {
      const running = await startTestServer(overrides);
      started.push(running);
      return running;
    };
    afterEach(async () => {
      for (const running of started.splice(0)) await running.stop();
    });
    // Rotations are one-way: they run on a database of their own, whose keys no other test relies on.
    const own = serversOnOwnDatabase("env_key");

    it("keeps an ADMIN_API_KEY revoked through the API revoked at the next start, with a warning that never shows the key", async () => {
      const envKey = `keys-test-admin-${randomBytes(24).toString("hex")}`;
      const first = await own.start({ ADMIN_API_KEY: envKey });
      const env = first.client(envKey);
      const helper = await issue(first, { role: "ADMIN" }, env);
      const [{ id, revoked_at }] = await first.db.query("SELECT id, revoked_at FROM api_keys WHERE secret_hash = ?", [sha256(envKey)]);
      expect(revoked_at).to.equal(null);
      expect(await helper.api.data(REVOKE, { id })).to.deep.equal({ revokeApiKey: true });
      expect(await env.request(ME)).to.deep.equal(REFUSED);
      const [revokedRow] = await first.db.query("SELECT * FROM api_keys WHERE id = ?", [id]);
      await first.stop();

      const logs: Record<string, any>[] = [];
      const second = await own.start({ ADMIN_API_KEY: envKey }, { logger: memoryLogger(logs) });
      expect(await second.client(envKey).request(ME)).to.deep.equal(REFUSED);
      expect(await second.db.query("SELECT * FROM api_keys WHERE id = ?", [id])).to.deep.equal([revokedRow]);
      const warnings = logs.filter((line) => line.level === 40 && /ADMIN_API_KEY is revoked/.test(line.msg));
      expect(warnings, JSON.stringify(logs)).to.have.length(1);
      expect(warnings[0].msg).to.match(/revoked by an admin\) and stays revoked: .* must be changed/);
      expect(warnings[0].keyId).to.equal(id);
      const everything = JSON.stringify(logs);
      expect(everything).not.to.include(envKey);
      expect(everything).not.to.include(sha256(envKey));
      // The other keys work as before, and a new ADMIN_API_KEY works at once.
      expect((await second.client(helper.secret).data(ME)).me.role).to.equal("ADMIN");
      const rotatedKey = `keys-test-rotated-${randomBytes(24).toString("hex")}`;
      const third = await own.start({ ADMIN_API_KEY: rotatedKey });
      expect((await third.client(rotatedKey).data(ME)).me).to.deep.equal({ role: "ADMIN", label: "ADMIN_API_KEY" });
      expect(await third.client(envKey).request(ME)).to.deep.equal(REFUSED);
    });

    it("never brings back an ADMIN_API_KEY retired by a rotation, and keeps the current one, with a warning", async () => {
      const envKey = `keys-test-admin-${randomBytes(24).toString("hex")}`;
      const otherKey = `keys-test-other-${randomBytes(24).toString("hex")}`;
      await own.start({ ADMIN_API_KEY: envKey });
      const rotated = await own.start({ ADMIN_API_KEY: otherKey });
      const [{ id }] = await rotated.db.query("SELECT id FROM api_keys WHERE secret_hash = ?", [sha256(envKey)]);
      const keysAfterRotation = await rotated.db.query("SELECT * FROM api_keys ORDER BY id");

      const logs: Record<string, any>[] = [];
      const back = await own.start({ ADMIN_API_KEY: envKey }, { logger: memoryLogger(logs) });
      expect(await back.db.query("SELECT * FROM api_keys ORDER BY id")).to.deep.equal(keysAfterRotation);
      expect(await back.client(envKey).request(ME)).to.deep.equal(REFUSED);
      expect((await back.client(otherKey).data(ME)).me.role).to.equal("ADMIN");
      const warnings = logs.filter((line) => line.level === 40 && /ADMIN_API_KEY is revoked/.test(line.msg));
      expect(warnings, JSON.stringify(logs)).to.have.length(1);
      expect(warnings[0].msg).to.match(/retired when ADMIN_API_KEY moved on\) and stays revoked/);
      expect(warnings[0].keyId).to.equal(id);
    });

    it("refuses to start when ADMIN_API_KEY is the secret of an issued key, active or revoked, and changes no key", async () => {
      const partner = await createPartner(server.current);
      const revokedIntake = await issue(server.current, { role: "INTAKE" });
      await server.current.admin.data(REVOKE, { id: revokedIntake.id });
      // Every column but last_used_at, which the admin's own requests may move meanwhile.
      const snapshot = () =>
        server.current.db.query(
          "SELECT id, label, role, partner_id, secret_hash, from_environment, created_at, expires_at, revoked_at, revoked_by FROM api_keys ORDER BY id",
        );
      const before = await snapshot();

      for (const secret of [partner.api.key!, revokedIntake.secret]) {
        let failure: unknown;
        await start({ ADMIN_API_KEY: secret }).catch((error: unknown) => (failure = error));
        expect(failure).to.be.instanceOf(AdminKeyConflictError);
        const [{ id }] = await server.current.db.query("SELECT id FROM api_keys WHERE secret_hash = ?", [sha256(secret)]);
        expect((failure as Error).message).to.match(new RegExp(`^ADMIN_API_KEY is the secret of API key ${id}, issued through the API`));
        expect((failure as Error).message).not.to.include(secret);
        expect(await snapshot()).to.deep.equal(before);
      }
      // The partner's key is still only the partner's; the configured ADMIN_API_KEY still works.
      expect((await partner.api.data(ME)).me.role).to.equal("PARTNER");
      expect((await partner.api.error(`{ apiKeys { id } }`)).code).to.equal("FORBIDDEN");
      expect(await revokedIntake.api.request(ME)).to.deep.equal(REFUSED);
      expect((await server.current.admin.data(ME)).me.role).to.equal("ADMIN");
    });
  });
});
