import { expect } from "chai";
import type mysql from "mysql2/promise";
import { connectTo, logLines, startServing, type RunningProcess } from "./running.js";

/**
 * Holds the api_keys table from another connection, then sends a request with an unknown key: its
 * key look-up waits for the table, so the request stays open (and the stop with it) until released.
 */
async function hangARequest(server: RunningProcess, holder: mysql.Connection): Promise<void> {
  await holder.query("LOCK TABLES api_keys WRITE");
  void fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer prk_nobody_knows_this_key" },
    body: JSON.stringify({ query: "{ me { role } }" }),
  }).catch(() => undefined);
  // Until the server's statement waits on the table.
  for (;;) {
    const [rows] = await holder.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table%' AND INFO LIKE '%api_keys%'",
    );
    if (Number(rows[0].waiting) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("process > shutdown deadline", function () {
  this.timeout(60_000);
  let server: RunningProcess | undefined;
  let holder: mysql.Connection | undefined;

  afterEach(async () => {
    await server?.kill();
    await holder?.end();
    server = holder = undefined;
  });

  it("exits 0 on SIGTERM when nothing holds the stop", async () => {
    server = await startServing({ SHUTDOWN_TIMEOUT: "10s" });
    const started = Date.now();
    server.child.kill("SIGTERM");
    const { code, signal, stdout } = await server.exited;
    expect({ code, signal }, stdout).to.deep.equal({ code: 0, signal: null });
    expect(Date.now() - started).to.be.below(5_000);
    expect(logLines(stdout, 50), stdout).to.deep.equal([]);
  });

  it("writes every access line before it exits, those of the last requests included (logs go out asynchronously)", async () => {
    server = await startServing({ SHUTDOWN_TIMEOUT: "10s" });
    const ids = Array.from({ length: 200 }, (_, n) => `last-lines-${n}`);
    await Promise.all(ids.map((id) => fetch(`http://127.0.0.1:${server!.port}/healthz/nothing-here`, { headers: { "x-request-id": id } })));
    server.child.kill("SIGTERM");
    const { code, stdout } = await server.exited;
    expect(code).to.equal(0);
    const logged = new Set(logLines(stdout, 30).map((line) => line.requestId));
    expect(ids.filter((id) => !logged.has(id))).to.deep.equal([]);
  });

  it("exits 1 once SHUTDOWN_TIMEOUT has passed, naming the request still open", async () => {
    server = await startServing({ SHUTDOWN_TIMEOUT: "1s" });
    holder = await connectTo();
    await hangARequest(server, holder);
    const started = Date.now();
    server.child.kill("SIGTERM");
    const { code, signal, stdout } = await server.exited;
    const elapsed = Date.now() - started;
    expect({ code, signal }, stdout).to.deep.equal({ code: 1, signal: null });
    expect(elapsed).to.be.within(900, 3_000);
    const errors = logLines(stdout, 50);
    expect(errors, stdout).to.have.length(1);
    expect(errors[0].msg, errors[0].msg).to.match(
      /^the stop did not finish within SHUTDOWN_TIMEOUT \(1000 ms\): 1 HTTP request still open \(POST \/graphql\)/,
    );
    expect(errors[0].stillOpen).to.deep.include({ httpRequests: ["POST /graphql"] });
  });

  it("exits 1 at once on a second signal during the stop", async () => {
    server = await startServing({ SHUTDOWN_TIMEOUT: "30s" });
    holder = await connectTo();
    await hangARequest(server, holder);
    server.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    server.child.kill("SIGINT");
    const { code, signal, stdout } = await server.exited;
    expect({ code, signal }, stdout).to.deep.equal({ code: 1, signal: null });
    expect(Date.now() - started).to.be.below(1_000);
    expect(logLines(stdout, 50).map((entry) => entry.msg)).to.deep.equal(["SIGINT again while stopping: exiting at once, code 1"]);
  });
});
