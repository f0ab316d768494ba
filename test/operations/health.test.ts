import { expect } from "chai";
import { checkReadiness } from "../../src/health/readiness.js";
import { testDatabase } from "../support/database.js";
import { startTestServer, useTestServer, type TestServer } from "../support/harness.js";
import { TEST_REDIS_URL } from "../support/redis.js";
import { eventually } from "../support/wait.js";
import { TcpProxy } from "./tcp-proxy.js";

interface Readiness {
  status: number;
  body: { status: string; checks: { database: string; redis: string; jobs: string } };
  cacheControl: string | null;
}

function origin(server: TestServer): string {
  return server.url.replace(/\/graphql$/, "");
}

async function readiness(server: TestServer): Promise<Readiness> {
  const response = await fetch(`${origin(server)}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as Readiness["body"],
    cacheControl: response.headers.get("cache-control"),
  };
}

describe("operations > health and readiness", () => {
  describe("on a healthy server (PUBSUB_URL unset)", () => {
    const server = useTestServer();

    it("keeps /healthz a cheap liveness answer with the live counts", async () => {
      const response = await fetch(`${origin(server.current)}/healthz`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ status: "ok", live: { sockets: 0, subscriptions: 0 } });
    });

    it("answers /readyz 200 when the database and the job store answer, Redis pub/sub not being used", async () => {
      const answer = await readiness(server.current);
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({ status: "ready", checks: { database: "ok", redis: "not used", jobs: "ok" } });
      expect(answer.cacheControl).to.equal("no-store");
    });

    it("needs no key for /healthz nor /readyz, and ignores a bad one", async () => {
      for (const path of ["/healthz", "/readyz"]) {
        const response = await fetch(`${origin(server.current)}${path}`, { headers: { authorization: "Bearer not-a-key" } });
        expect(response.status, path).to.equal(200);
      }
    });
  });

  describe("with the database behind a proxy that fails after the start", () => {
    let proxy: TcpProxy;
    let server: TestServer;

    before(async function () {
      this.timeout(60_000);
      proxy = await TcpProxy.start(testDatabase.port, testDatabase.host);
      const { user, database } = testDatabase;
      server = await startTestServer({ DATABASE_URL: `mysql://${user}@127.0.0.1:${proxy.port}/${database}` });
    });
    after(async () => {
      proxy?.restore();
      await server?.stop();
      await proxy?.close();
    });

    it("answers 503 naming the database when it stops answering (timed out), and 200 again once it is back", async () => {
      expect((await readiness(server)).status).to.equal(200);
      proxy.freeze();
      const started = Date.now();
      const answer = await readiness(server);
      expect(answer.status).to.equal(503);
      expect(answer.body).to.deep.equal({
        status: "not ready",
        checks: { database: "timed out after 1000 ms", redis: "not used", jobs: "ok" },
      });
      // Each check has 1 s, all at once.
      expect(Date.now() - started).to.be.below(2500);
      proxy.restore();
      await eventually("the server is ready again", async () => (await readiness(server)).status === 200);
    });

    it("answers 503 naming the database when its port refuses connections (a closed port), without the error's text", async () => {
      proxy.refuse();
      try {
        const answer = await readiness(server);
        expect(answer.status).to.equal(503);
        expect(answer.body.status).to.equal("not ready");
        expect(answer.body.checks.database).to.match(/^failed: [A-Z_]+$/);
        expect(answer.body.checks.jobs).to.equal("ok");
      } finally {
        proxy.restore();
      }
      await eventually("the server is ready again", async () => (await readiness(server)).status === 200);
    });
  });

  describe("with the job store and Redis pub/sub behind a proxy that hangs after the start", () => {
    let proxy: TcpProxy;
    let server: TestServer;

    before(async function () {
      this.timeout(60_000);
      const redis = new URL(TEST_REDIS_URL);
      proxy = await TcpProxy.start(Number(redis.port || 6379), redis.hostname);
      const url = `redis://127.0.0.1:${proxy.port}`;
      server = await startTestServer({ JOBS_URL: url, PUBSUB_URL: url, RATE_LIMIT_STORE: "memory" });
    });
    after(async () => {
      proxy?.restore();
      await server?.stop();
      await proxy?.close();
    });

    it("says Redis is used and ok while it answers", async () => {
      const answer = await readiness(server);
      expect(answer.status).to.equal(200);
      expect(answer.body.checks).to.deep.equal({ database: "ok", redis: "ok", jobs: "ok" });
    });

    it("answers 503 naming the pub/sub connection and the job store when Redis hangs", async () => {
      proxy.freeze();
      try {
        const answer = await readiness(server);
        expect(answer.status).to.equal(503);
        expect(answer.body).to.deep.equal({
          status: "not ready",
          checks: { database: "ok", redis: "pub/sub: timed out after 1000 ms", jobs: "timed out after 1000 ms" },
        });
      } finally {
        proxy.restore();
      }
      await eventually("the server is ready again", async () => (await readiness(server)).status === 200);
    });
  });

  describe("checkReadiness", () => {
    const ok = async () => undefined;

    it("runs the checks at once, each within its timeout, and names each failure by its code, never its message", async () => {
      const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:6379 (user app, password hunter2)"), { code: "ECONNREFUSED" });
      const failures: string[] = [];
      const started = Date.now();
      const { ready, checks } = await checkReadiness(
        {
          database: () => new Promise(() => undefined),
          redis: { "pub/sub": ok, "rate limits": async () => Promise.reject(refused) },
          jobs: () => new Promise(() => undefined),
        },
        100,
        (check) => failures.push(check),
      );
      expect(Date.now() - started).to.be.below(400);
      expect(ready).to.equal(false);
      expect(checks).to.deep.equal({
        database: "timed out after 100 ms",
        redis: "rate limits: failed: ECONNREFUSED",
        jobs: "timed out after 100 ms",
      });
      expect(failures.sort()).to.deep.equal(["database", "jobs", "redis (rate limits)"]);
    });

    it("is ready when everything answers; a probe that throws at once fails like one that rejects", async () => {
      expect(await checkReadiness({ database: ok, redis: {}, jobs: ok })).to.deep.equal({
        ready: true,
        checks: { database: "ok", redis: "not used", jobs: "ok" },
      });
      const { checks } = await checkReadiness({
        database: () => {
          throw new TypeError("no pool");
        },
        redis: { "pub/sub": ok },
        jobs: ok,
      });
      expect(checks).to.deep.equal({ database: "failed: TypeError", redis: "ok", jobs: "ok" });
    });
  });
});
