import { expect } from "chai";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/harness.js";

const ALLOWED = "https://app.example.com";
const OTHER = "https://elsewhere.example.com";

/** What a browser sends before a cross-origin POST with a key and a JSON body. */
function preflight(server: TestServer, origin: string): Promise<Response> {
  return fetch(server.url, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });
}

function post(server: TestServer, origin: string): Promise<Response> {
  return fetch(server.url, {
    method: "POST",
    headers: { origin, "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query: "{ me { role } }" }),
  });
}

describe("process > CORS_ORIGINS", function () {
  this.timeout(60_000);
  let open: TestServer;
  let closed: TestServer;

  before(async () => {
    open = await startTestServer({ CORS_ORIGINS: `${ALLOWED}, https://admin.example.com` });
    closed = await startTestServer();
  });
  after(async () => {
    await open?.stop();
    await closed?.stop();
  });

  it("answers the preflight of an allowed origin with its Access-Control-Allow-Origin", async () => {
    const response = await preflight(open, ALLOWED);
    expect(response.status).to.equal(204);
    expect(response.headers.get("access-control-allow-origin")).to.equal(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).to.equal("GET,POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).to.include("authorization").and.include("content-type");
    expect(response.headers.get("access-control-allow-credentials")).to.equal(null);
  });

  it("lets an allowed origin read the answer of a POST", async () => {
    const response = await post(open, ALLOWED);
    expect(response.status).to.equal(200);
    expect(response.headers.get("access-control-allow-origin")).to.equal(ALLOWED);
    expect(await response.json()).to.deep.equal({ data: { me: { role: "ADMIN" } } });
  });

  it("gives another origin no Access-Control-Allow-Origin, on the preflight or the POST", async () => {
    expect((await preflight(open, OTHER)).headers.get("access-control-allow-origin")).to.equal(null);
    expect((await post(open, OTHER)).headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("allows no origin by default", async () => {
    expect((await preflight(closed, ALLOWED)).headers.get("access-control-allow-origin")).to.equal(null);
    const response = await post(closed, ALLOWED);
    expect(response.headers.get("access-control-allow-origin")).to.equal(null);
    // The server still answers (a browser would withhold the answer from the page; curl and servers are not concerned).
    expect(response.status).to.equal(200);
  });
});
