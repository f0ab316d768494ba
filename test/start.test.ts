import { randomBytes } from "node:crypto";
import { expect } from "chai";
import mysql from "mysql2/promise";
import { migrations } from "../src/db/data-source.js";
import { GraphQLClient } from "./support/client.js";
import { TEST_DATABASE_URL, testDatabase } from "./support/database.js";
import { ADMIN_KEY } from "./support/harness.js";
import { freePort, startProcess, untilServing } from "./support/process.js";
import { purgeNamespace } from "./support/redis.js";

async function onServer<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const { host, port, user, password } = testDatabase;
  const connection = await mysql.createConnection({ host, port, user, password });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

describe("start > the server process", () => {
  it("refuses PORT=abc with exit code 1 and one line on stderr naming PORT", async () => {
    const { exited } = startProcess({ PORT: "abc" });
    const { code, stderr } = await exited;
    expect(code).to.equal(1);
    const lines = stderr.split("\n");
    expect(lines, stderr).to.have.length(2);
    expect(lines[1]).to.equal("");
    expect(lines[0].startsWith("configuration error: PORT "), lines[0]).to.equal(true);
  });

  it("gives up within seconds, exit code 1, naming JOBS_URL, when the job store cannot be reached", async () => {
    const started = Date.now();
    const { exited } = startProcess({ PORT: "0", DATABASE_URL: TEST_DATABASE_URL, JOBS_URL: "redis://127.0.0.1:1" });
    const { code, stdout } = await exited;
    expect(code).to.equal(1);
    expect(Date.now() - started).to.be.below(10_000);
    const fatal = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((entry) => entry.level === 60);
    expect(fatal, stdout).to.have.length(1);
    expect(fatal[0].msg).to.match(/^cannot reach the job store at redis:\/\/127\.0\.0\.1:1 \(JOBS_URL\): /);
  });

  describe("on a database that does not exist yet", () => {
    const database = `prt_start_${randomBytes(6).toString("hex")}`;
    let server: ReturnType<typeof startProcess> | undefined;
    let url: string;

    before(async function () {
      this.timeout(60_000);
      const { host, port, user, password } = testDatabase;
      const credentials = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
      const [existing] = await onServer((connection) => connection.query<mysql.RowDataPacket[]>("SHOW DATABASES LIKE ?", [database]));
      expect(existing, `${database} exists already`).to.have.length(0);
      const httpPort = await freePort();
      url = `http://localhost:${httpPort}/graphql`;
      server = startProcess({
        NODE_ENV: "production",
        PORT: String(httpPort),
        DATABASE_URL: `mysql://${credentials}@${host}:${port}/${database}`,
        ADMIN_API_KEY: ADMIN_KEY,
      });
      await untilServing(server, httpPort);
    });

    after(async function () {
      this.timeout(30_000);
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGKILL");
        await server.exited;
      }
      await onServer((connection) => connection.query(`DROP DATABASE IF EXISTS \`${database}\``));
      await purgeNamespace(database);
    });

    it("creates the database and applies every migration", async () => {
      const names = await onServer(async (connection) => {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          `SELECT name FROM \`${database}\`.schema_migrations ORDER BY timestamp`,
        );
        return rows.map((row) => row.name as string);
      });
      expect(names).to.include("InitialSchema1764000000000");
      expect(names).to.deep.equal(migrations.map((Migration) => new Migration().name));
    });

    it("answers GraphQL with the ADMIN_API_KEY it was given", async () => {
      const { status, data, errors } = await new GraphQLClient(url, ADMIN_KEY).request("{ me { role } }");
      expect(errors).to.equal(undefined);
      expect(status).to.equal(200);
      expect(data).to.deep.equal({ me: { role: "ADMIN" } });
    });

    it("serves the web dashboard's sign-in page at / and its scripts, from its own build", async () => {
      const origin = new URL(url).origin;
      const page = await fetch(`${origin}/`);
      expect(page.status).to.equal(200);
      const html = await page.text();
      expect(html).to.contain('<div id="app"></div>');
      const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).to.be.a("string");
      const asset = await fetch(`${origin}${script}`);
      expect(asset.status).to.equal(200);
      expect(asset.headers.get("content-type")).to.match(/javascript/);
      expect(await asset.text()).to.contain("API key");
    });

    it("stops with exit code 0 on SIGTERM", async () => {
      server!.child.kill("SIGTERM");
      const { code, signal } = await server!.exited;
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    });
  });
});
