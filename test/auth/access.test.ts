import { createHash, randomBytes } from "node:crypto";
import { expect } from "chai";
import { withoutRequestIds, type GraphQLClient } from "../support/client.js";
import {
  createPartner,
  daysFromToday,
  issueKeyDetails,
  referralIn,
  rfiInput,
  submitRfi,
  expectTablesUnchanged,
  snapshotTables,
  uniqueName,
  type TestPartner,
} from "../support/fixtures.js";
import { ADMIN_KEY, serversOnOwnDatabase, useTestServer } from "../support/harness.js";
import { TEST_REDIS_URL } from "../support/redis.js";
import { eventually } from "../support/wait.js";

type Role = "ADMIN" | "PARTNER" | "INTAKE" | "ANALYST";

const ME = `{ me { role label partner { id name } } }`;
const MALFORMED_MESSAGE = "send an API key as 'Authorization: Bearer <key>'";
const UNKNOWN_MESSAGE = "this API key is unknown or revoked";

/** A POST with exactly the given headers, for Authorization values the GraphQL client would never send. */
async function post(url: string, headers: Record<string, string>, query = ME) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: withoutRequestIds((await response.json()) as Record<string, unknown>, response.headers.get("x-request-id")),
  };
}

/** What every refused key gets: HTTP 401 and a single UNAUTHENTICATED error, no data. */
async function expectUnauthenticated(api: GraphQLClient, message: string, query = ME) {
  const response = await api.request(query);
  expect(response).to.deep.equal({ status: 401, errors: [{ message, extensions: { code: "UNAUTHENTICATED" } }] });
}

/** A key of the right form that was never issued. */
function unknownSecret(): string {
  return `prk_${randomBytes(32).toString("base64url")}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

describe("auth > authentication", () => {
  const server = useTestServer();

  const malformed: [string, Record<string, string>][] = [
    ["no Authorization header", {}],
    ["an empty Authorization header", { authorization: "" }],
    ["a Basic header", { authorization: "Basic dXNlcjpwYXNzd29yZA==" }],
    ["'Bearer' without a key", { authorization: "Bearer" }],
    ["a Bearer value of two words", { authorization: `Bearer ${ADMIN_KEY} extra` }],
    ["a valid key without the Bearer scheme", { authorization: ADMIN_KEY }],
  ];
  for (const [what, headers] of malformed) {
    it(`refuses ${what} with UNAUTHENTICATED and HTTP 401`, async () => {
      expect(await post(server.current.url, headers)).to.deep.equal({
        status: 401,
        body: { errors: [{ message: MALFORMED_MESSAGE, extensions: { code: "UNAUTHENTICATED" } }] },
      });
    });
  }

  it("refuses an unknown key of the right form with UNAUTHENTICATED and HTTP 401", async () => {
    await expectUnauthenticated(server.current.client(unknownSecret()), UNKNOWN_MESSAGE);
  });

  it("refuses the hash of a key in place of the key", async () => {
    await expectUnauthenticated(server.current.client(sha256(ADMIN_KEY)), UNKNOWN_MESSAGE);
  });

  it("refuses a mutation with an unknown key before it changes anything", async () => {
    const before = await snapshotTables(server.current);
    const response = await server.current
      .client(unknownSecret())
      .request(`mutation { createPartner(input: { name: "Intruder" }) { partner { id } apiKey } }`);
    expect(response).to.deep.equal({
      status: 401,
      errors: [{ message: UNKNOWN_MESSAGE, extensions: { code: "UNAUTHENTICATED" } }],
    });
    await expectTablesUnchanged(server.current, before);
  });

  it("accepts the Bearer scheme in any letter case", async () => {
    const { status, body } = await post(server.current.url, { authorization: `bEaReR ${ADMIN_KEY}` });
    expect(status).to.equal(200);
    expect(body).to.deep.equal({ data: { me: { role: "ADMIN", label: "ADMIN_API_KEY", partner: null } } });
  });

  it("refuses a revoked key on the very next request", async () => {
    const key = await issueKeyDetails(server.current, "ANALYST");
    expect((await key.api.data(ME)).me.role).to.equal("ANALYST");
    const { revokeApiKey } = await server.current.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: key.id });
    expect(revokeApiKey).to.equal(true);
    await expectUnauthenticated(key.api, UNKNOWN_MESSAGE);
  });

  it("refuses a revoked PARTNER key's transition and leaves the referral as it was", async () => {
    const partner = await createPartner(server.current);
    const key = await issueKeyDetails(server.current, "PARTNER", partner.id);
    const id = await referralIn(server.current, partner, "NEW");
    await server.current.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: key.id });
    const before = await snapshotTables(server.current);
    const response = await key.api.request(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
    expect(response).to.deep.equal({
      status: 401,
      errors: [{ message: UNKNOWN_MESSAGE, extensions: { code: "UNAUTHENTICATED" } }],
    });
    await expectTablesUnchanged(server.current, before);
    // The partner's other key is untouched.
    const { referral } = await partner.api.data(`query($id: ID!) { referral(id: $id) { status } }`, { id });
    expect(referral).to.deep.equal({ status: "NEW" });
  });

  it("revokes only the named key: the same partner's other key keeps working", async () => {
    const partner = await createPartner(server.current);
    const first = await issueKeyDetails(server.current, "PARTNER", partner.id);
    const second = await issueKeyDetails(server.current, "PARTNER", partner.id);
    await server.current.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: first.id });
    await expectUnauthenticated(first.api, UNKNOWN_MESSAGE);
    expect((await second.api.data(ME)).me).to.deep.equal({
      role: "PARTNER",
      label: second.label,
      partner: { id: partner.id, name: partner.name },
    });
  });

  it("answers true when a key already revoked is revoked again, and it stays refused", async () => {
    const key = await issueKeyDetails(server.current, "INTAKE");
    const revoke = `mutation($id: ID!) { revokeApiKey(id: $id) }`;
    expect(await server.current.admin.data(revoke, { id: key.id })).to.deep.equal({ revokeApiKey: true });
    expect(await server.current.admin.data(revoke, { id: key.id })).to.deep.equal({ revokeApiKey: true });
    await expectUnauthenticated(key.api, UNKNOWN_MESSAGE);
  });

  for (const id of ["999999999", "abc", "1 OR 1=1", "0"]) {
    it(`refuses revokeApiKey of the unknown id "${id}" with NOT_FOUND and revokes nothing`, async () => {
      const before = await snapshotTables(server.current, ["api_keys"]);
      const error = await server.current.admin.error(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id });
      expect(error).to.include({ code: "NOT_FOUND", message: `API key ${id} not found` });
      await expectTablesUnchanged(server.current, before);
    });
  }
});

describe("auth > roles", () => {
  const server = useTestServer();
  let partner: TestPartner;
  const clients = {} as Record<Role, GraphQLClient>;

  before(async () => {
    partner = await createPartner(server.current);
    clients.ADMIN = server.current.admin;
    clients.PARTNER = partner.api;
    clients.INTAKE = (await issueKeyDetails(server.current, "INTAKE")).api;
    clients.ANALYST = (await issueKeyDetails(server.current, "ANALYST")).api;
  });

  const ROLES: Role[] = ["ADMIN", "PARTNER", "INTAKE", "ANALYST"];

  interface Operation {
    field: string;
    /** The roles allowed, in the order the server names them in its refusal. */
    allowed: Role[];
    document: string;
    /** Creates what the call acts on, such that an allowed role succeeds; returns the variables. */
    prepare: () => Promise<Record<string, unknown>>;
    /** What an allowed role gets: its data checked, or an error code for placeholders of later issues. */
    allowedResult: ((data: Record<string, any>, variables: Record<string, unknown>) => void) | { code: string };
  }

  const referralIn_ = (status: string) => async () => ({ id: await referralIn(server.current, partner, status) });
  const becomes = (status: string) => (data: Record<string, any>, variables: Record<string, unknown>) => {
    expect(Object.values(data)[0]).to.deep.equal({ id: variables.id, status });
  };
  const estimate = `{ estimatedDealValue: "1000.00", currency: "EUR", estimatedCloseDate: "${daysFromToday(30)}" }`;
  const PARTNER_OR_ADMIN: Role[] = ["PARTNER", "ADMIN"];

  const OPERATIONS: Operation[] = [
    {
      field: "createPartner",
      allowed: ["ADMIN"],
      document: `mutation($name: String!) { createPartner(input: { name: $name }) { partner { name } } }`,
      prepare: async () => ({ name: uniqueName("Partner") }),
      allowedResult: (data, variables) => expect(data.createPartner.partner.name).to.equal(variables.name),
    },
    {
      field: "issueApiKey",
      allowed: ["ADMIN"],
      document: `mutation($label: String!) { issueApiKey(input: { role: ANALYST, label: $label }) { role label } }`,
      prepare: async () => ({ label: uniqueName("analyst") }),
      allowedResult: (data, variables) => expect(data.issueApiKey).to.deep.equal({ role: "ANALYST", label: variables.label }),
    },
    {
      field: "revokeApiKey",
      allowed: ["ADMIN"],
      document: `mutation($id: ID!) { revokeApiKey(id: $id) }`,
      prepare: async () => ({ id: (await issueKeyDetails(server.current, "ANALYST")).id }),
      allowedResult: (data) => expect(data.revokeApiKey).to.equal(true),
    },
    {
      field: "submitRfi",
      allowed: ["INTAKE", "ADMIN"],
      document: `mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { referrals { status partner { id } } } }`,
      prepare: async () => ({ input: rfiInput({ partnerIds: [partner.id] }) }),
      allowedResult: (data) => expect(data.submitRfi.referrals).to.deep.equal([{ status: "NEW", partner: { id: partner.id } }]),
    },
    {
      field: "extendRfi",
      allowed: ["INTAKE", "ADMIN"],
      document: `mutation($rfiId: ID!, $partnerIds: [ID!]!) { extendRfi(rfiId: $rfiId, partnerIds: $partnerIds) { status partner { id } } }`,
      prepare: async () => {
        const other = await createPartner(server.current);
        return { rfiId: (await submitRfi(server.current.admin, { partnerIds: [partner.id] })).rfiId, partnerIds: [other.id] };
      },
      allowedResult: (data, variables) =>
        expect(data.extendRfi).to.deep.equal([{ status: "NEW", partner: { id: (variables.partnerIds as string[])[0] } }]),
    },
    {
      field: "rfi",
      allowed: ["INTAKE", "ADMIN"],
      document: `query($id: ID!) { rfi(id: $id) { id referrals { partner { id } } suggestedPartners { rank } } }`,
      prepare: async () => ({ id: (await submitRfi(server.current.admin, { partnerIds: [partner.id] })).rfiId }),
      allowedResult: (data, variables) =>
        expect(data.rfi).to.deep.include({ id: variables.id, referrals: [{ partner: { id: partner.id } }] }),
    },
    {
      field: "notifications",
      allowed: ["ADMIN"],
      document: `{ notifications(first: 5) { edges { node { kind } } } }`,
      prepare: async () => ({}),
      allowedResult: (data) => expect(data.notifications.edges).to.be.an("array"),
    },
    {
      field: "partners",
      allowed: ["ADMIN", "ANALYST", "INTAKE"],
      document: `{ partners { id } }`,
      prepare: async () => ({}),
      allowedResult: (data) => expect(data.partners.map((p: { id: string }) => p.id)).to.include(partner.id),
    },
    {
      field: "upsertMarketingProfile",
      allowed: ["ADMIN", "PARTNER"],
      document: `mutation($partnerId: ID!, $location: String!) {
        upsertMarketingProfile(partnerId: $partnerId, input: {
          region: "BE", location: $location, contactEmail: "be@partner.example", keywords: ["erp"], preferredCompanySizes: []
        }) { location partner { id } }
      }`,
      prepare: async () => ({ partnerId: partner.id, location: uniqueName("Office") }),
      allowedResult: (data, variables) =>
        expect(data.upsertMarketingProfile).to.deep.equal({ location: variables.location, partner: { id: partner.id } }),
    },
    {
      field: "expressInterest",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { expressInterest(id: $id) { id status } }`,
      prepare: referralIn_("NEW"),
      allowedResult: becomes("EVALUATING"),
    },
    {
      field: "ignoreReferral",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { ignoreReferral(id: $id) { id status } }`,
      prepare: referralIn_("NEW"),
      allowedResult: becomes("IGNORED"),
    },
    {
      field: "acceptReferral",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { acceptReferral(id: $id, input: ${estimate}) { id status } }`,
      prepare: referralIn_("EVALUATING"),
      allowedResult: becomes("NEGOTIATING"),
    },
    {
      field: "declineReferral",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { declineReferral(id: $id) { id status } }`,
      prepare: referralIn_("EVALUATING"),
      allowedResult: becomes("DECLINED"),
    },
    {
      field: "updateDealEstimate",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { updateDealEstimate(id: $id, input: ${estimate}) { id status } }`,
      prepare: referralIn_("NEGOTIATING"),
      allowedResult: becomes("NEGOTIATING"),
    },
    {
      field: "markReferralWon",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { markReferralWon(id: $id) { id status } }`,
      prepare: referralIn_("NEGOTIATING"),
      allowedResult: becomes("WON"),
    },
    {
      field: "markReferralLost",
      allowed: PARTNER_OR_ADMIN,
      document: `mutation($id: ID!) { markReferralLost(id: $id) { id status } }`,
      prepare: referralIn_("NEGOTIATING"),
      allowedResult: becomes("LOST"),
    },
    {
      field: "setExternalReference",
      allowed: ["PARTNER"],
      document: `mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-1") { id status } }`,
      prepare: referralIn_("NEW"),
      allowedResult: becomes("NEW"),
    },
    {
      field: "dealSizeStats",
      allowed: ["ADMIN", "ANALYST", "PARTNER"],
      document: `{ dealSizeStats { count } }`,
      prepare: async () => ({}),
      allowedResult: (data) => expect(data.dealSizeStats).to.be.an("array"),
    },
    {
      field: "closeDateStats",
      allowed: ["ADMIN", "ANALYST", "PARTNER"],
      document: `{ closeDateStats { count } }`,
      prepare: async () => ({}),
      allowedResult: (data) => expect(data.closeDateStats).to.be.an("array"),
    },
  ];

  for (const operation of OPERATIONS) {
    for (const role of ROLES) {
      if (operation.allowed.includes(role)) {
        const outcome = typeof operation.allowedResult === "function" ? "lets" : `passes the role check of`;
        it(`${outcome} ${role} ${operation.field}`, async () => {
          const variables = await operation.prepare();
          const { allowedResult } = operation;
          if (typeof allowedResult === "function") {
            allowedResult(await clients[role].data(operation.document, variables), variables);
          } else {
            expect((await clients[role].error(operation.document, variables)).code).to.equal(allowedResult.code);
          }
        });
      } else {
        it(`refuses ${operation.field} to ${role} with FORBIDDEN and changes nothing`, async () => {
          const variables = await operation.prepare();
          const before = await snapshotTables(server.current);
          const { data, errors } = await clients[role].request(operation.document, variables);
          // A nullable field is refused as null, a non-null one takes the whole answer with it.
          expect(data == null ? null : data[operation.field]).to.equal(null);
          expect(errors?.map((e) => [e.extensions?.code, e.message])).to.deep.equal([
            ["FORBIDDEN", `${operation.field} needs a key with role ${operation.allowed.join(" or ")}; this key is ${role}`],
          ]);
          await expectTablesUnchanged(server.current, before);
        });
      }
    }
  }

  it("leaves a key whose revocation was refused working", async () => {
    const key = await issueKeyDetails(server.current, "ANALYST");
    expect((await partner.api.error(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: key.id })).code).to.equal("FORBIDDEN");
    expect((await key.api.data(ME)).me.role).to.equal("ANALYST");
  });

  it("does not let a PARTNER key issue itself an ADMIN key", async () => {
    const error = await partner.api.error(`mutation { issueApiKey(input: { role: ADMIN, label: "mine now" }) { secret } }`);
    expect(error).to.include({ code: "FORBIDDEN", message: "issueApiKey needs a key with role ADMIN; this key is PARTNER" });
    const [{ count }] = await server.current.db.query("SELECT COUNT(*) AS count FROM api_keys WHERE label = 'mine now'");
    expect(Number(count)).to.equal(0);
  });
});

describe("auth > API keys", () => {
  const server = useTestServer();
  const SECRET_FORM = /^prk_[A-Za-z0-9_-]{43}$/;

  it("issues secrets of 32 random bytes: prk_ and 43 base64url characters", async () => {
    const key = await issueKeyDetails(server.current, "ANALYST");
    expect(key.secret).to.match(SECRET_FORM);
    expect(Buffer.from(key.secret.slice(4), "base64url")).to.have.length(32);
    const { createPartner: created } = await server.current.admin.data(
      `mutation($name: String!) { createPartner(input: { name: $name }) { apiKey } }`,
      { name: uniqueName("Partner") },
    );
    expect(created.apiKey).to.match(SECRET_FORM);
  });

  it("never issues the same secret twice", async () => {
    const secrets = await Promise.all(Array.from({ length: 20 }, () => issueKeyDetails(server.current, "INTAKE")));
    expect(new Set(secrets.map((key) => key.secret)).size).to.equal(20);
    expect(new Set(secrets.map((key) => key.id)).size).to.equal(20);
  });

  it("returns the key as issued: id, role, label, and a secret that works for that role", async () => {
    const label = uniqueName("CRM sync");
    const key = await issueKeyDetails(server.current, "ANALYST", undefined, label);
    expect(key).to.deep.include({ role: "ANALYST", label });
    expect(key.id).to.match(/^[1-9]\d*$/);
    expect((await key.api.data(ME)).me).to.deep.equal({ role: "ANALYST", label, partner: null });
  });

  it("stores only the SHA-256 of a secret, never the secret itself", async () => {
    const partner = await createPartner(server.current);
    const issued = await issueKeyDetails(server.current, "PARTNER", partner.id);
    const rows: Record<string, unknown>[] = await server.current.db.query("SELECT * FROM api_keys WHERE id = ?", [issued.id]);
    expect(rows).to.have.length(1);
    expect(rows[0].secret_hash).to.equal(sha256(issued.secret));
    expect(rows[0].secret_hash).to.match(/^[0-9a-f]{64}$/);
    expect(rows[0]).to.deep.include({ role: "PARTNER", label: issued.label, partner_id: partner.id });

    const everyKey = JSON.stringify(await server.current.db.query("SELECT * FROM api_keys"));
    for (const secret of [issued.secret, issued.secret.slice(4), ADMIN_KEY]) {
      expect(everyKey).not.to.include(secret);
    }
    const [{ count }] = await server.current.db.query(
      "SELECT COUNT(*) AS count FROM api_keys WHERE secret_hash NOT REGEXP '^[0-9a-f]{64}$'",
    );
    expect(Number(count)).to.equal(0);
  });

  it("keeps no secret anywhere in the database", async () => {
    const issued = await issueKeyDetails(server.current, "INTAKE");
    const tables: Record<string, string>[] = await server.current.db.query("SHOW TABLES");
    expect(tables.length).to.be.greaterThan(5);
    for (const row of tables) {
      const table = Object.values(row)[0];
      const contents = JSON.stringify(await server.current.db.query(`SELECT * FROM \`${table}\``));
      expect(contents, table).not.to.include(issued.secret.slice(4));
      expect(contents, table).not.to.include(ADMIN_KEY);
    }
  });

  it("makes the configured ADMIN_API_KEY work at once, with role ADMIN and only its hash stored", async () => {
    expect((await server.current.admin.data(ME)).me).to.deep.equal({ role: "ADMIN", label: "ADMIN_API_KEY", partner: null });
    const rows = await server.current.db.query(
      "SELECT role, secret_hash, partner_id FROM api_keys WHERE from_environment = 1 AND revoked_at IS NULL",
    );
    expect(rows).to.deep.equal([{ role: "ADMIN", secret_hash: sha256(ADMIN_KEY), partner_id: null }]);
  });

  describe("when the server restarts with another ADMIN_API_KEY", () => {
    const NEW_ADMIN_KEY = `rotated-admin-key-${randomBytes(24).toString("hex")}`;
    // Rotations are one-way: they run on a database of their own, whose keys no other test relies on.
    const own = serversOnOwnDatabase("rotation");

    it("refuses the old key and accepts the new one, at once on every instance", async () => {
      // Instances share revocations through PUBSUB_URL; this one has checked (and remembers) the old key.
      const pubsub = { PUBSUB_URL: TEST_REDIS_URL, PUBSUB_NAMESPACE: `rotation-${process.pid}` };
      const old = await own.start(pubsub);
      expect((await old.admin.data(ME)).me.role).to.equal("ADMIN");
      const rotated = await own.start({ ...pubsub, ADMIN_API_KEY: NEW_ADMIN_KEY });
      await expectUnauthenticated(rotated.client(ADMIN_KEY), UNKNOWN_MESSAGE);
      await eventually("the other instance forgets the old key", async () => (await old.admin.request(ME)).status === 401, 2000);
      await expectUnauthenticated(old.admin, UNKNOWN_MESSAGE);
      expect((await rotated.client(NEW_ADMIN_KEY).data(ME)).me).to.deep.equal({
        role: "ADMIN",
        label: "ADMIN_API_KEY",
        partner: null,
      });
      const hashes = await rotated.db.query("SELECT secret_hash FROM api_keys WHERE from_environment = 1 AND revoked_at IS NULL");
      expect(hashes).to.deep.equal([{ secret_hash: sha256(NEW_ADMIN_KEY) }]);
    });

    it("never accepts a retired key again: an instance restarted with the old value keeps the new key", async () => {
      await own.start();
      await own.start({ ADMIN_API_KEY: NEW_ADMIN_KEY });
      const back = await own.start({ ADMIN_API_KEY: ADMIN_KEY });
      await expectUnauthenticated(back.admin, UNKNOWN_MESSAGE);
      expect((await back.client(NEW_ADMIN_KEY).data(ME)).me.role).to.equal("ADMIN");
      const hashes = await back.db.query("SELECT secret_hash FROM api_keys WHERE from_environment = 1 AND revoked_at IS NULL");
      expect(hashes).to.deep.equal([{ secret_hash: sha256(NEW_ADMIN_KEY) }]);
    });

    it("changes nothing when the variable is unset", async () => {
      await own.start();
      const unset = await own.start({ ADMIN_API_KEY: "" });
      expect((await unset.admin.data(ME)).me.role).to.equal("ADMIN");
    });

    it("leaves issued keys working across the rotation", async () => {
      const key = await issueKeyDetails(await own.start(), "ANALYST");
      const rotated = await own.start({ ADMIN_API_KEY: NEW_ADMIN_KEY });
      expect((await rotated.client(key.secret).data(ME)).me).to.deep.equal({ role: "ANALYST", label: key.label, partner: null });
    });
  });
});

describe("auth > me", () => {
  const server = useTestServer();

  for (const role of ["ADMIN", "INTAKE", "ANALYST"]) {
    it(`shows an ${role} key its role and label, and no partner`, async () => {
      const key = await issueKeyDetails(server.current, role);
      expect((await key.api.data(ME)).me).to.deep.equal({ role, label: key.label, partner: null });
    });
  }

  it("shows a PARTNER key its role, label and its own partner", async () => {
    const partner = await createPartner(server.current);
    await createPartner(server.current);
    const key = await issueKeyDetails(server.current, "PARTNER", partner.id);
    const { me } = await key.api.data(`{ me { role label partner { id name profiles { id } } } }`);
    expect(me).to.deep.equal({
      role: "PARTNER",
      label: key.label,
      partner: { id: partner.id, name: partner.name, profiles: [{ id: partner.profileId }] },
    });
  });

  it("shows the first key of a new partner with the label it was given at creation", async () => {
    const partner = await createPartner(server.current);
    expect((await partner.api.data(ME)).me).to.deep.equal({
      role: "PARTNER",
      label: `${partner.name} (first key)`,
      partner: { id: partner.id, name: partner.name },
    });
  });
});
