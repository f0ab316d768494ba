import { expect } from "chai";
import type { DataSource } from "typeorm";
import { openDatabase } from "../../src/db/data-source.js";
import { LIMITS } from "../../src/graphql/limits.js";
import { withoutRequestIds, type GraphQLErrorBody } from "../support/client.js";
import { testDatabase } from "../support/database.js";
import { createPartner, issueKey, rfiInput, SUBMIT_RFI, uniqueName, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { memoryLogger } from "../support/logs.js";
import { ENTITIES } from "../../src/app/entities.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface RawResponse {
  status: number;
  headers: Headers;
  body: { data?: unknown; errors?: GraphQLErrorBody[] };
}

/** A request exactly as written: any method, headers and body, as a browser or a script could send it. */
async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const response = await fetch(url, { method: init.method ?? "POST", headers: init.headers, body: init.body });
  expect(response.headers.get("content-type")).to.match(/^application\/json/);
  const body = withoutRequestIds((await response.json()) as RawResponse["body"], response.headers.get("x-request-id"));
  return { status: response.status, headers: response.headers, body };
}

const JSON_WITH_ADMIN_KEY = { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` };

async function rowCounts(db: DataSource): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ["partners", "api_keys", "rfis", "referrals", "referral_events", "idempotency_records"]) {
    const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(n);
  }
  return counts;
}

/** `me { partner { profiles { partner { … id } } } }`, exactly `depth` fields deep (the leaf counts). */
function queryOfDepth(depth: number): string {
  const chain = ["me", ...Array.from({ length: depth - 2 }, (_, i) => (i % 2 === 0 ? "partner" : "profiles"))];
  return `{ ${chain.reduceRight((inner, field) => `${field} { ${inner} }`, "id")} }`;
}

/** A full page of referrals, as a dashboard would ask for it; `first` is a literal or `$n`. */
const fullPage = (first: string, alias = "page") =>
  `${alias}: referrals(first: ${first}) { totalCount edges { cursor node { id status version receivedAt respondBy
     estimatedDealValue { amount currency } partner { id name profiles { id region } } profile { region }
     overview { need keywords } customer { companyName email } events { at from to actor note } } } }`;

const threePages = (first: string) => ["one", "two", "three"].map((alias) => fullPage(first, alias)).join(" ");

const aliases = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: me { role }`).join(" ")} }`;
const directives = (count: number) => `{ me { ${Array.from({ length: count }, () => "role @include(if: true)").join(" ")} } }`;
/** `{ referrals(filter: { statuses: [NEW, NEW, …] }) { totalCount } }`, exactly `count` tokens long. */
const tokens = (count: number) =>
  `{ referrals(filter: { statuses: [${Array.from({ length: count - 16 }, () => "NEW").join(" ")}] }) { totalCount } }`;

/** The one error of a request refused before it ran. */
function refusal(response: { data?: unknown; errors?: GraphQLErrorBody[] }): GraphQLErrorBody {
  expect(response.data ?? null, "no data").to.equal(null);
  expect(response.errors, JSON.stringify(response.errors)).to.be.an("array").with.length(1);
  return response.errors![0];
}

describe("graphql > abuse limits", () => {
  const server = useTestServer();
  let partner: TestPartner;

  before(async () => {
    partner = await createPartner(server.current);
  });

  it(`answers a query ${LIMITS.maxDepth} fields deep and refuses one of ${LIMITS.maxDepth + 1} with one validation error`, async () => {
    // Every level resolves: down to the profile ids at the bottom.
    let node: any = await partner.api.data(queryOfDepth(LIMITS.maxDepth));
    for (const field of ["me", ...Array.from({ length: LIMITS.maxDepth - 2 }, (_, i) => (i % 2 === 0 ? "partner" : "profiles"))]) {
      node = Array.isArray(node[field]) ? node[field][0] : node[field];
    }
    expect(node).to.deep.equal({ id: partner.profileId });

    const error = refusal(await partner.api.request(queryOfDepth(LIMITS.maxDepth + 1)));
    expect(error.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    expect(error.message).to.equal(`Syntax Error: Query depth limit of ${LIMITS.maxDepth} exceeded, found ${LIMITS.maxDepth + 1}.`);
  });

  it("answers a full page of 100 referrals, and refuses three of them in one query as over the cost limit", async () => {
    const { page } = await partner.api.data(`{ ${fullPage("100")} }`);
    expect(page.edges).to.be.an("array");

    const response = await send(server.current.url, {
      headers: JSON_WITH_ADMIN_KEY,
      body: JSON.stringify({ query: `{ ${threePages("100")} }` }),
    });
    expect(response.status).to.equal(400);
    const error = refusal(response.body);
    expect(error.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    const [, limit, found] = /^Query cost limit of (\d+) exceeded, found (\d+)\.$/.exec(error.message) ?? [];
    expect(Number(limit), error.message).to.equal(LIMITS.maxCost);
    expect(Number(found)).to.be.greaterThan(LIMITS.maxCost);
  });

  it("costs a page size given as a variable exactly like a literal one, capped at the largest page", async () => {
    const literal = refusal(await partner.api.request(`{ ${threePages("100")} }`));
    for (const n of [100, 5000]) {
      const variable = refusal(await partner.api.request(`query($n: Int) { ${threePages("$n")} }`, { n }));
      expect(variable.message, `n = ${n}`).to.equal(literal.message);
    }
    const small = await partner.api.data(`query($n: Int) { ${threePages("$n")} }`, { n: 20 });
    expect(Object.keys(small)).to.deep.equal(["one", "two", "three"]);
  });

  it(`answers ${LIMITS.maxAliases} aliases and refuses ${LIMITS.maxAliases + 1}`, async () => {
    const answered = await partner.api.data(aliases(LIMITS.maxAliases));
    expect(Object.keys(answered)).to.have.length(LIMITS.maxAliases);

    const error = refusal(await partner.api.request(aliases(LIMITS.maxAliases + 1)));
    expect(error.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    expect(error.message).to.equal(`Syntax Error: Aliases limit of ${LIMITS.maxAliases} exceeded, found ${LIMITS.maxAliases + 1}.`);
  });

  it(`answers ${LIMITS.maxDirectives} directives and refuses ${LIMITS.maxDirectives + 1}`, async () => {
    expect(await partner.api.data(directives(LIMITS.maxDirectives))).to.deep.equal({ me: { role: "PARTNER" } });

    const error = refusal(await partner.api.request(directives(LIMITS.maxDirectives + 1)));
    expect(error.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    expect(error.message).to.equal(
      `Syntax Error: Directives limit of ${LIMITS.maxDirectives} exceeded, found ${LIMITS.maxDirectives + 1}.`,
    );
  });

  it(`parses a document of ${LIMITS.maxTokens} tokens and refuses one of ${LIMITS.maxTokens + 1} without parsing it all`, async () => {
    expect(await partner.api.data(tokens(LIMITS.maxTokens))).to.deep.equal({ referrals: { totalCount: 0 } });

    const error = refusal(await partner.api.request(tokens(LIMITS.maxTokens + 1)));
    expect(error.extensions?.code).to.equal("GRAPHQL_PARSE_FAILED");
    expect(error.message).to.match(
      new RegExp(`^Syntax Error: Document contains more th[ae]t? ${LIMITS.maxTokens} tokens\\. Parsing aborted\\.$`),
    );
  });

  it(`refuses a body over ${LIMITS.maxPayloadBytes} bytes with HTTP 413 and a GraphQL error, creating nothing`, async () => {
    const before = await rowCounts(server.current.db);
    const body = JSON.stringify({
      query: SUBMIT_RFI,
      variables: { input: rfiInput({ partnerIds: [partner.id] }), padding: "x".repeat(LIMITS.maxPayloadBytes) },
    });
    const { status, body: answer } = await send(server.current.url, { headers: JSON_WITH_ADMIN_KEY, body });
    expect(status).to.equal(413);
    expect(answer).to.deep.equal({
      errors: [{ message: `request body is larger than ${LIMITS.maxPayloadBytes} bytes`, extensions: { code: "BAD_REQUEST" } }],
    });
    expect(await rowCounts(server.current.db)).to.deep.equal(before);
  });

  it(`serves a body of exactly ${LIMITS.maxPayloadBytes} bytes`, async () => {
    const payload = (padding: string) =>
      JSON.stringify({ query: SUBMIT_RFI, variables: { input: rfiInput({ partnerIds: [partner.id] }), padding } });
    const body = payload("x".repeat(LIMITS.maxPayloadBytes - Buffer.byteLength(payload(""))));
    expect(Buffer.byteLength(body)).to.equal(LIMITS.maxPayloadBytes);
    const { status, body: answer } = await send(server.current.url, { headers: JSON_WITH_ADMIN_KEY, body });
    expect(answer.errors).to.equal(undefined);
    expect(status).to.equal(200);
    expect((answer.data as { submitRfi: { referrals: unknown[] } }).submitRfi.referrals).to.have.length(1);
  });

  it("refuses a batch of operations (a JSON array) with 400, running none of them", async () => {
    const before = await rowCounts(server.current.db);
    const operation = { query: SUBMIT_RFI, variables: { input: rfiInput({ partnerIds: [partner.id] }) } };
    const { status, body } = await send(server.current.url, {
      headers: JSON_WITH_ADMIN_KEY,
      body: JSON.stringify([operation, operation]),
    });
    expect(status).to.equal(400);
    expect(body).to.deep.equal({ errors: [{ message: "Operation batching disabled.", extensions: { code: "BAD_REQUEST" } }] });
    expect(await rowCounts(server.current.db)).to.deep.equal(before);
  });

  describe("GET and browser-style requests", () => {
    const name = uniqueName("Created over GET");
    const mutation = `mutation { createPartner(input: { name: "${name}" }) { apiKey } }`;
    const getUrl = (query: string) => `${server.current.url}?query=${encodeURIComponent(query)}`;
    const CSRF_MESSAGE =
      "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header " +
      "(with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value " +
      "for one of the following headers: x-apollo-operation-name, apollo-require-preflight\n";

    async function partnersNamed(): Promise<number> {
      const [{ n }] = await server.current.db.query("SELECT COUNT(*) AS n FROM partners WHERE name = ?", [name]);
      return Number(n);
    }

    it("blocks a plain GET mutation as potential CSRF (400), creating nothing", async () => {
      const before = await rowCounts(server.current.db);
      const { status, body } = await send(getUrl(mutation), { method: "GET", headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(status).to.equal(400);
      expect(body).to.deep.equal({ errors: [{ message: CSRF_MESSAGE, extensions: { code: "BAD_REQUEST" } }] });
      expect(await rowCounts(server.current.db)).to.deep.equal(before);
      expect(await partnersNamed()).to.equal(0);
    });

    it("refuses a GET mutation that passes the CSRF check with 405 (Allow: POST), creating nothing", async () => {
      const before = await rowCounts(server.current.db);
      const { status, headers, body } = await send(getUrl(mutation), {
        method: "GET",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "apollo-require-preflight": "true" },
      });
      expect(status).to.equal(405);
      expect(headers.get("allow")).to.equal("POST");
      expect(body).to.deep.equal({
        errors: [{ message: "GET requests only support query operations, not mutation operations", extensions: { code: "BAD_REQUEST" } }],
      });
      expect(await rowCounts(server.current.db)).to.deep.equal(before);
      expect(await partnersNamed()).to.equal(0);
    });

    it("answers a GET query that passes the CSRF check", async () => {
      const { status, body } = await send(getUrl("{ me { role } }"), {
        method: "GET",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "apollo-require-preflight": "true" },
      });
      expect(status).to.equal(200);
      expect(body).to.deep.equal({ data: { me: { role: "ADMIN" } } });
    });

    it("blocks a form-style POST (text/plain) mutation as potential CSRF, creating nothing", async () => {
      const before = await rowCounts(server.current.db);
      const { status, body } = await send(server.current.url, {
        headers: { "content-type": "text/plain", authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ query: mutation }),
      });
      expect(status).to.equal(400);
      expect(body).to.deep.equal({ errors: [{ message: CSRF_MESSAGE, extensions: { code: "BAD_REQUEST" } }] });
      expect(await rowCounts(server.current.db)).to.deep.equal(before);
      expect(await partnersNamed()).to.equal(0);
    });
  });

  it("refuses a body that is not JSON with 400 and a GraphQL error", async () => {
    const { status, body } = await send(server.current.url, { headers: JSON_WITH_ADMIN_KEY, body: '{"query": "{ me { role } }"' });
    expect(status).to.equal(400);
    expect(body).to.deep.equal({ errors: [{ message: "request body is not valid JSON", extensions: { code: "BAD_REQUEST" } }] });
  });

  describe("in development (the default)", () => {
    it("answers introspection", async () => {
      const { __schema, __type } = await server.current.admin.data(
        `{ __schema { queryType { name } mutationType { name } } __type(name: "ReferralStatus") { enumValues { name } } }`,
      );
      expect(__schema).to.deep.equal({ queryType: { name: "Query" }, mutationType: { name: "Mutation" } });
      expect(__type.enumValues.map((v: { name: string }) => v.name)).to.include.members(["NEW", "WON", "EXPIRED"]);
    });

    it('suggests the field meant ("Did you mean") for a misspelled one', async () => {
      const error = refusal(await server.current.admin.request(`{ me { rol } }`));
      expect(error).to.deep.include({
        message: 'Cannot query field "rol" on type "Viewer". Did you mean "role"?',
        extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      });
    });
  });
});

/** The masked error of a request that failed unexpectedly, checked against the log line that carries its id. */
function expectMaskedAndLogged(error: GraphQLErrorBody, logs: Record<string, any>[]) {
  const errorId = String(error.extensions?.errorId);
  expect(errorId).to.match(UUID);
  expect(error.message).to.equal(`Internal server error (id ${errorId})`);
  expect(error.extensions).to.deep.equal({ code: "INTERNAL_SERVER_ERROR", errorId });
  const logged = logs.filter((line) => line.errorId === errorId);
  expect(logged, "one log line with the errorId").to.have.length(1);
  expect(logged[0]).to.deep.include({ level: 50, msg: "unexpected error while serving a request" });
  return logged[0];
}

describe("graphql > production mode (NODE_ENV=production)", () => {
  const logs: Record<string, any>[] = [];
  let server: TestServer;

  before(async function () {
    this.timeout(60_000);
    server = await startTestServer({ NODE_ENV: "production" }, { logger: memoryLogger(logs) });
  });
  after(async () => {
    await server?.stop();
  });

  it("refuses introspection of __schema and __type, and still answers __typename", async () => {
    for (const query of [`{ __schema { queryType { name } } }`, `{ __type(name: "Referral") { fields { name } } }`]) {
      const { status, ...response } = await server.admin.request(query);
      expect(status, query).to.equal(400);
      const error = refusal(response);
      expect(error.extensions, query).to.deep.equal({ code: "GRAPHQL_VALIDATION_FAILED", validationErrorCode: "INTROSPECTION_DISABLED" });
      expect(error.message).to.equal(
        `GraphQL introspection is not allowed here, but the query contained ${/__(schema|type)/.exec(query)![0]}`,
      );
    }
    expect(await server.admin.data(`{ __typename }`)).to.deep.equal({ __typename: "Query" });
  });

  it('gives no "Did you mean" hints for misspelled fields, arguments, input fields, enum values or types', async () => {
    const cases: [query: string, variables: Record<string, unknown> | undefined, message: string, code: string][] = [
      [`{ me { rol } }`, undefined, 'Cannot query field "rol" on type "Viewer".', "GRAPHQL_VALIDATION_FAILED"],
      [
        `{ referrals(frist: 1) { totalCount } }`,
        undefined,
        'Unknown argument "frist" on field "Query.referrals".',
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        `{ referrals(filter: { stag: NEW }) { totalCount } }`,
        undefined,
        'Field "stag" is not defined by type "ReferralFilter".',
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        `{ referrals(orderBy: { field: RECIEVED_AT, direction: ASC }) { totalCount } }`,
        undefined,
        'Value "RECIEVED_AT" does not exist in "ReferralOrderField" enum.',
        "GRAPHQL_VALIDATION_FAILED",
      ],
      [
        `query($o: ReferralOrder) { referrals(orderBy: $o) { totalCount } }`,
        { o: { field: "RECIEVED_AT", direction: "ASC" } },
        'Variable "$o" got invalid value "RECIEVED_AT" at "o.field"; Value "RECIEVED_AT" does not exist in "ReferralOrderField" enum.',
        "BAD_USER_INPUT",
      ],
      [
        `query($f: ReferalFilter) { referrals(filter: $f) { totalCount } }`,
        undefined,
        'Unknown type "ReferalFilter".',
        "GRAPHQL_VALIDATION_FAILED",
      ],
    ];
    for (const [query, variables, message, code] of cases) {
      const error = refusal(await server.admin.request(query, variables));
      expect(error.message, query).to.equal(message);
      expect(error.extensions?.code, query).to.equal(code);
    }
  });

  it("sends no stack trace with any kind of error", async () => {
    const analyst = await issueKey(server, "ANALYST");
    const responses = [
      await server.admin.request(`{ me { role }`),
      await server.admin.request(`{ me { nope } }`),
      await server.admin.request(`query($i: ID!) { referral(id: $i) { id } }`, {}),
      await server.admin.request(`mutation { createPartner(input: { name: "  " }) { apiKey } }`),
      await server.admin.request(`mutation { expressInterest(id: "999999") { id } }`),
      await analyst.request(`mutation { createPartner(input: { name: "Not allowed" }) { apiKey } }`),
      await server.client("not-a-key").request(`{ me { role } }`),
    ];
    const codes = responses.map((response) => response.errors?.map((error) => error.extensions?.code));
    expect(codes).to.deep.equal([
      ["GRAPHQL_PARSE_FAILED"],
      ["GRAPHQL_VALIDATION_FAILED"],
      ["BAD_USER_INPUT"],
      ["BAD_USER_INPUT"],
      ["NOT_FOUND"],
      ["FORBIDDEN"],
      ["UNAUTHENTICATED"],
    ]);
    for (const response of responses) {
      for (const error of response.errors!) expect(error.extensions).not.to.have.property("stacktrace");
      expect(JSON.stringify(response)).not.to.match(/\bat .+:\d+:\d+/);
    }
  });

  describe("an unexpected error", () => {
    let brokenDb: DataSource;
    let broken: TestServer;
    let closedDb: DataSource;
    let closed: TestServer;

    before(async function () {
      this.timeout(60_000);
      // A database of its own whose referrals table has gone: every key still works, reading referrals fails.
      brokenDb = await openDatabase({ ...testDatabase, database: `${testDatabase.database}_broken` }, ENTITIES);
      broken = await startTestServer({ NODE_ENV: "production" }, { db: brokenDb, logger: memoryLogger(logs) });
      await brokenDb.query("RENAME TABLE referrals TO referrals_gone");
      // A data source closed under a running server: not even the API key can be checked.
      closedDb = await openDatabase(testDatabase, ENTITIES);
      closed = await startTestServer({ NODE_ENV: "production" }, { db: closedDb, logger: memoryLogger(logs) });
      await closedDb.destroy();
    });
    after(async () => {
      await broken?.stop();
      await closed?.stop();
      if (brokenDb?.isInitialized) {
        await brokenDb.query(`DROP DATABASE \`${testDatabase.database}_broken\``);
        await brokenDb.destroy();
      }
    });

    it("in a resolver is masked as INTERNAL_SERVER_ERROR with an id, and logged with the real error under that id", async () => {
      const { status, data, errors } = await broken.admin.request(`{ me { role } referrals { totalCount } }`);
      expect(status).to.equal(200);
      expect(data).to.equal(null);
      expect(errors).to.have.length(1);
      expect(errors![0].path).to.deep.equal(["referrals"]);
      const logged = expectMaskedAndLogged(errors![0], logs);
      expect(logged.path).to.deep.equal(["referrals"]);
      expect(logged.err).to.deep.include({ type: "QueryFailedError", code: "ER_NO_SUCH_TABLE" });
      expect(logged.err.message).to.equal(`Table '${testDatabase.database}_broken.referrals' doesn't exist`);
      expect(logged.err.stack)
        .to.be.a("string")
        .and.match(/QueryFailedError/);
      expect(JSON.stringify(errors)).not.to.match(/Table|exist|referrals_gone|SELECT/);
    });

    it("while authenticating is masked the same way (HTTP 500), and logged under its id", async () => {
      const { status, data, errors } = await closed.admin.request(`{ me { role } }`);
      expect(status).to.equal(500);
      expect(data ?? null).to.equal(null);
      expect(errors).to.have.length(1);
      const logged = expectMaskedAndLogged(errors![0], logs);
      expect(logged.err.message).to.match(/Connection is not established with mysql database/);
      expect(JSON.stringify(errors)).not.to.match(/Connection|mysql|Context/);
    });

    // The second request runs the query's compiled plan (src/graphql/compiled-execution.ts): masked alike.
    it("gets a new id each time", async () => {
      const first = await broken.admin.request(`{ referrals { totalCount } }`);
      const second = await broken.admin.request(`{ referrals { totalCount } }`);
      const ids = [first, second].map((response) => response.errors![0].extensions?.errorId);
      expect(ids[0]).to.match(UUID);
      expect(ids[1]).to.match(UUID);
      expect(ids[0]).not.to.equal(ids[1]);
    });
  });
});
