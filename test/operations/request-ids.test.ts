import { Writable } from "node:stream";
import { expect } from "chai";
import { GraphQLError } from "graphql";
import { pino } from "pino";
import { QueryFailedError } from "typeorm";
import { hashSecret } from "../../src/auth/api-key.service.js";
import { createLogger } from "../../src/logging/logger.js";
import { serializeError, serializeRequest } from "../../src/logging/serializers.js";
import { createPartner, issueKeyDetails, rfiInput, SUBMIT_RFI, uniqueName, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";
import { liveClient, subscribe } from "../support/live.js";
import { eventually } from "../support/wait.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The server's own logger (createLogger: its serializers and redactions), writing into memory. */
function capturedLogger() {
  const text: string[] = [];
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split("\n")) {
        if (!line.trim()) continue;
        text.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { logger: createLogger({ logLevel: "info" }, stream), text, lines };
}

interface Answer {
  status: number;
  requestId: string | null;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(server: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, requestId: response.headers.get("x-request-id"), body: (await response.json()) as Answer["body"] };
}

describe("operations > request ids and clean logs", () => {
  const captured = capturedLogger();
  let server: TestServer;

  before(async function () {
    this.timeout(60_000);
    server = await startTestServer({}, { logger: captured.logger });
  });
  after(async () => {
    await server?.stop();
  });

  /** The log lines of one request, once its access line is written. */
  async function linesOf(requestId: string): Promise<Record<string, any>[]> {
    await eventually("the request's access line is logged", async () =>
      captured.lines.some((line) => line.requestId === requestId && line.res),
    );
    return captured.lines.filter((line) => line.requestId === requestId);
  }

  describe("the id", () => {
    it("keeps an incoming x-request-id of up to 128 letters, digits, '.', '_' and '-'", async () => {
      for (const id of ["abc", "Trace.id_42-x", "a".repeat(128), "0"]) {
        const answer = await post(server, { query: "{ me { role } }" }, { "x-request-id": id });
        expect(answer.requestId, id).to.equal(id);
      }
    });

    it("replaces a missing, too long or ill-formed one with a new UUID, a different one each time", async () => {
      const ids: string[] = [];
      for (const id of [undefined, "", "a".repeat(129), "has space", "semi;colon", "slash/id", "ünï", "line\tbreak"]) {
        const answer = await post(server, { query: "{ me { role } }" }, id === undefined ? {} : { "x-request-id": id });
        expect(answer.requestId, String(id)).to.match(UUID);
        ids.push(answer.requestId!);
      }
      expect(new Set(ids).size).to.equal(ids.length);
    });

    it("is given on every route: /healthz, /readyz, /metrics, an unknown path", async () => {
      const origin = server.url.replace(/\/graphql$/, "");
      for (const path of ["/healthz", "/readyz", "/metrics", "/nowhere"]) {
        const response = await fetch(`${origin}${path}`, { headers: { "x-request-id": `probe-${path.slice(1)}` } });
        await response.arrayBuffer();
        expect(response.headers.get("x-request-id"), path).to.equal(`probe-${path.slice(1)}`);
      }
    });
  });

  describe("in every GraphQL error's extensions.requestId", () => {
    const cases: [string, (id: string) => Promise<Answer>, string][] = [
      [
        "a query that does not validate",
        (id) => post(server, { query: "{ noSuchField }" }, { "x-request-id": id }),
        "GRAPHQL_VALIDATION_FAILED",
      ],
      ["a document that does not parse", (id) => post(server, { query: "{ me { role " }, { "x-request-id": id }), "GRAPHQL_PARSE_FAILED"],
      [
        "a resolver's refusal",
        (id) => post(server, { query: 'mutation { expressInterest(id: "987654321") { id } }' }, { "x-request-id": id }),
        "NOT_FOUND",
      ],
      [
        "variables of the wrong type",
        (id) =>
          post(server, { query: "query($n: Int) { referrals(first: $n) { totalCount } }", variables: { n: "x" } }, { "x-request-id": id }),
        "BAD_USER_INPUT",
      ],
      [
        "an unknown key (context creation)",
        (id) => post(server, { query: "{ me { role } }" }, { "x-request-id": id, authorization: "Bearer prk_unknown" }),
        "UNAUTHENTICATED",
      ],
      ["a body that is not JSON", (id) => post(server, "{not json", { "x-request-id": id }), "BAD_REQUEST"],
    ];
    for (const [what, send, code] of cases) {
      it(`for ${what} (${code})`, async () => {
        const id = `case-${code.toLowerCase()}-${process.pid}`;
        const answer = await send(id);
        expect(answer.requestId).to.equal(id);
        expect(answer.body.errors, JSON.stringify(answer.body)).to.have.length.at.least(1);
        for (const error of answer.body.errors!) {
          expect(error.extensions?.code).to.equal(code);
          expect(error.extensions?.requestId).to.equal(id);
        }
      });
    }

    it("for a generated id too", async () => {
      const answer = await post(server, { query: "{ noSuchField }" });
      expect(answer.requestId).to.match(UUID);
      expect(answer.body.errors![0].extensions?.requestId).to.equal(answer.requestId);
    });
  });

  describe("on the request's log lines", () => {
    it("writes one access line per request: method, path without its query string, status, duration, the operation; credentials redacted", async () => {
      const id = `access-${process.pid}`;
      await post(server, { query: "query WhoAmI { me { role } }" }, { "x-request-id": id, cookie: "session=cookie-secret-value" });
      const [access] = await linesOf(id);
      expect(access).to.deep.include({ level: 30, msg: "POST /graphql 200", operation: "WhoAmI", operationType: "query", rootField: "me" });
      expect(access.responseTime).to.be.a("number");
      expect(access.res).to.deep.equal({ statusCode: 200 });
      expect(access.req).to.deep.include({ id, method: "POST", url: "/graphql" });
      expect(access.req.headers.authorization).to.equal("[Redacted]");
      expect(access.req.headers.cookie).to.equal("[Redacted]");

      const getId = `access-get-${process.pid}`;
      const query = encodeURIComponent("query Lookup($id: ID!) { referral(id: $id) { id } }");
      const variables = encodeURIComponent(JSON.stringify({ id: "get-variable-ann@customer.example" }));
      const response = await fetch(`${server.url}?query=${query}&variables=${variables}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "apollo-require-preflight": "true", "x-request-id": getId },
      });
      await response.arrayBuffer();
      const [getAccess] = await linesOf(getId);
      expect(getAccess.req.url).to.equal("/graphql");
      expect(captured.text.join("\n")).to.not.include("get-variable-ann");
      expect(captured.text.join("\n")).to.not.include(ADMIN_KEY);
      expect(captured.text.join("\n")).to.not.include("cookie-secret-value");
    });
  });

  describe("scrubbing: a database error on an RFI", () => {
    let partner: TestPartner;
    const trigger = `test_scrub_${process.pid}`;

    before(async () => {
      partner = await createPartner(server);
      // The database refuses the RFI quoting the customer's e-mail, as "Duplicate entry '…'" would.
      await server.db.query(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON rfis FOR EACH ROW
         BEGIN
           DECLARE complaint VARCHAR(255);
           SET complaint = CONCAT('refused: ', NEW.customer_email, ' / ', NEW.customer_phone);
           SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = complaint;
         END`,
      );
    });
    after(async () => {
      await server.db.query(`DROP TRIGGER IF EXISTS ${trigger}`);
    });

    it("answers INTERNAL_SERVER_ERROR with the request id, and logs it under that id without the customer's data, the key or its hash", async () => {
      const intake = await issueKeyDetails(server, "INTAKE");
      const customer = {
        companyName: uniqueName("Scrubco"),
        contactName: `Zoe Scrubtest${process.pid}`,
        email: `zoe.scrub${process.pid}@customer.example`,
        phone: `+33 6 ${String(process.pid)
          .padStart(8, "0")
          .replace(/(\d\d)(?=\d)/g, "$1 ")}`,
      };
      const input = { ...rfiInput({ partnerIds: [partner.id], idempotencyKey: uniqueName("scrub") }), customer };
      const id = `scrub-${process.pid}`;
      const answer = await post(
        server,
        { query: SUBMIT_RFI, variables: { input } },
        { "x-request-id": id, authorization: `Bearer ${intake.secret}` },
      );

      expect(answer.status).to.equal(200);
      expect(answer.requestId).to.equal(id);
      const [error] = answer.body.errors!;
      expect(error.extensions).to.deep.equal({ code: "INTERNAL_SERVER_ERROR", errorId: error.extensions!.errorId, requestId: id });
      expect(JSON.stringify(answer.body)).to.not.include(customer.email);

      const lines = await linesOf(id);
      const logged = lines.find((line) => line.errorId === error.extensions!.errorId);
      expect(logged, "the error is logged on the request's logger").to.deep.include({
        level: 50,
        requestId: id,
        msg: "unexpected error while serving a request",
      });
      expect(logged!.err).to.deep.include({ type: "QueryFailedError", code: "ER_SIGNAL_EXCEPTION", errno: 1644, sqlState: "45000" });
      expect(logged!.err.query)
        .to.match(/^INSERT INTO `rfis`/)
        .and.include("?");
      expect(logged!.err).to.not.have.any.keys("message", "parameters", "driverError", "sql", "sqlMessage");
      expect(logged!.err.stack).to.match(/^QueryFailedError: \[message withheld[^\n]*\n {4}at /);

      const log = captured.text.join("\n");
      expect(log).to.include(id);
      for (const [what, secret] of Object.entries({
        email: customer.email,
        "e-mail's local part": `zoe.scrub${process.pid}`,
        phone: customer.phone,
        "contact name": customer.contactName,
        "company name": customer.companyName,
        "the key": intake.secret,
        "the key's hash": hashSecret(intake.secret),
        "the admin key": ADMIN_KEY,
        "the admin key's hash": hashSecret(ADMIN_KEY),
      })) {
        expect(log, what).to.not.include(secret);
      }
    });

    it("over a WebSocket, logs the same error with the socket's id (socketId), scrubbed the same way", async () => {
      const intake = await issueKeyDetails(server, "INTAKE");
      const email = `zoe.socket${process.pid}@customer.example`;
      const input = { ...rfiInput({ partnerIds: [partner.id], customerEmail: email }), customer: { ...rfiInput().customer, email } };
      const live = liveClient(server, intake.secret);
      try {
        const { errors } = await subscribe(live.client, SUBMIT_RFI, { input }).next(5000);
        const [error] = errors!;
        const errorId = String(error.extensions?.errorId);
        // No request id over a socket: the error id is what ties the answer to the log.
        expect(error.extensions).to.deep.equal({ code: "INTERNAL_SERVER_ERROR", errorId });
        await eventually("the error is logged", async () => captured.lines.some((line) => line.errorId === errorId));
        const logged = captured.lines.find((line) => line.errorId === errorId)!;
        expect(logged.socketId).to.match(UUID);
        expect(logged).to.not.have.property("requestId");
        expect(logged.err).to.deep.include({ type: "QueryFailedError", code: "ER_SIGNAL_EXCEPTION" });
        const log = captured.text.join("\n");
        expect(log).to.not.include(email);
        expect(log).to.not.include(intake.secret);
        expect(log).to.not.include(hashSecret(intake.secret));
      } finally {
        await live.dispose();
      }
    });
  });

  describe("the error serializer", () => {
    const mysqlError = Object.assign(new Error("Duplicate entry 'ann@customer.example' for key 'uq_rfis_email'"), {
      code: "ER_DUP_ENTRY",
      errno: 1062,
      sqlState: "23000",
      sqlMessage: "Duplicate entry 'ann@customer.example' for key 'uq_rfis_email'",
      sql: "INSERT INTO `rfis`(`customer_email`, `customer_phone`) VALUES ('ann@customer.example', '+33 1 23 45 67 89')",
    });
    const failed = new QueryFailedError(
      "INSERT INTO `rfis`(`customer_email`, `customer_phone`) VALUES (?, ?)",
      ["ann@customer.example", "+33 1 23 45 67 89"],
      mysqlError,
    );

    it("drops what pino's standard serializer would have logged: parameters, the SQL with values, the database's message", () => {
      expect(JSON.stringify(pino.stdSerializers.err(failed)), "the hazard is real").to.include("ann@customer.example");
      const safe = serializeError(failed) as Record<string, any>;
      expect(JSON.stringify(safe)).to.not.include("ann@customer.example").and.not.include("+33 1 23");
      expect(safe).to.deep.include({
        type: "QueryFailedError",
        code: "ER_DUP_ENTRY",
        errno: 1062,
        sqlState: "23000",
        query: "INSERT INTO `rfis`(`customer_email`, `customer_phone`) VALUES (?, ?)",
      });
      expect(safe.stack).to.match(/^QueryFailedError: \[message withheld[^\n]*\n {4}at /);
    });

    it("withholds the message of an error wrapping one (GraphQLError, cause), and passes pino's own serialization through again", () => {
      const wrapped = new GraphQLError(`Context creation failed: ${failed.message}`, { originalError: failed });
      const caused = new Error(`could not save: ${failed.message}`, { cause: failed });
      for (const error of [wrapped, caused, pino.stdSerializers.err(failed)]) {
        expect(JSON.stringify(serializeError(error))).to.not.include("ann@customer.example");
      }
    });

    it("keeps the message of database errors whose codes name only tables and columns, and of other errors", () => {
      const missing = new QueryFailedError(
        "SELECT 1 FROM referrals",
        [],
        Object.assign(new Error("Table 'x.referrals' doesn't exist"), {
          code: "ER_NO_SUCH_TABLE",
          sqlMessage: "Table 'x.referrals' doesn't exist",
        }),
      );
      expect(serializeError(missing)).to.deep.include({
        type: "QueryFailedError",
        code: "ER_NO_SUCH_TABLE",
        message: "Table 'x.referrals' doesn't exist",
      });
      expect(serializeError(new RangeError("expected 3 rows, changed 2"))).to.deep.include({
        type: "RangeError",
        message: "expected 3 rows, changed 2",
      });
    });

    it("shows a request without its query string, cookies nor authorization", () => {
      const shown = serializeRequest({
        id: "r1",
        method: "GET",
        originalUrl: "/graphql?variables=%7B%22email%22%3A%22ann%40x%22%7D",
        headers: { authorization: "Bearer prk_secret", cookie: "s=1", "user-agent": "curl" },
        socket: { remoteAddress: "127.0.0.1" },
      });
      expect(shown).to.deep.equal({
        id: "r1",
        method: "GET",
        url: "/graphql",
        headers: { authorization: "[Redacted]", cookie: "[Redacted]", "user-agent": "curl" },
        remoteAddress: "127.0.0.1",
      });
    });
  });
});
