import { expect } from "chai";
import mysql from "mysql2/promise";
import { ReferralStatus } from "../../src/referrals/lifecycle.js";
import { GraphQLClient } from "../support/client.js";
import { databaseUrlOf, dropTestDatabase, testDatabase } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { runAdminTool, type AdminTool, type ToolRun } from "../support/process.js";
import { purgeNamespace, TEST_REDIS_URL } from "../support/redis.js";

/** `npm run admin -- …` (or `npm run demo`) after the build: the compiled tool, on `database`. */
function run(tool: AdminTool, database: string, args: string[] = [], env: Record<string, string> = {}): Promise<ToolRun> {
  return runAdminTool(tool, args, { DATABASE_URL: databaseUrlOf(database), ...env });
}

/** A run that must succeed, quietly on stderr. */
async function ok(tool: "cli" | "demo", database: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const { code, stdout, stderr } = await run(tool, database, args, env);
  expect({ code, stderr }, stdout).to.deep.equal({ code: 0, stderr: "" });
  return stdout;
}

/** The secret a run printed (one, on its own line). */
function secretIn(stdout: string): string {
  const secrets = stdout.match(/prk_[A-Za-z0-9_-]{43}/g);
  expect(secrets, stdout).to.have.length(1);
  return secrets![0];
}

async function statuses(database: string): Promise<Map<string, number>> {
  const { host, port, user, password } = testDatabase;
  const connection = await mysql.createConnection({ host, port, user, password, database });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT status, COUNT(*) AS n FROM referrals GROUP BY status");
    return new Map(rows.map((row) => [String(row.status), Number(row.n)]));
  } finally {
    await connection.end();
  }
}

/** A server on the tool's database, its live events through Redis as a deployment with several instances. */
async function serverOn(database: string): Promise<TestServer> {
  return startTestServer({ DATABASE_URL: databaseUrlOf(database), PUBSUB_URL: TEST_REDIS_URL });
}

async function forget(database: string): Promise<void> {
  await dropTestDatabase(database);
  await purgeNamespace(database);
}

describe("admin > npm run admin", function () {
  this.timeout(60_000);
  const database = `${testDatabase.database}_cli`;
  let server: TestServer | undefined;

  before(() => forget(database));
  after(async () => {
    await server?.stop();
    await forget(database);
  });

  let partnerId: string;
  let partnerKey: string;

  it("creates a partner on a fresh database and prints its first key, which works against a server", async () => {
    const stdout = await ok("cli", database, ["create-partner", "--name", "Contoso"]);
    const created = /^Created partner (\d+) "Contoso" with its first PARTNER key\.$/m.exec(stdout);
    expect(created, stdout).to.not.equal(null);
    partnerId = created![1];
    partnerKey = secretIn(stdout);
    server = await serverOn(database);
    expect(await server.client(partnerKey).data("{ me { role partner { id name } } }")).to.deep.equal({
      me: { role: "PARTNER", partner: { id: partnerId, name: "Contoso" } },
    });
  });

  it("adds a marketing profile to the partner", async () => {
    const stdout = await ok("cli", database, [
      "add-profile",
      "--partner",
      partnerId,
      "--region",
      "fr",
      "--location",
      "Paris",
      "--contact-email",
      "referrals@contoso.example",
      "--keywords",
      "cloud, erp",
      "--locale",
      "FR",
      "--company-sizes",
      "SIZE_50_TO_249",
    ]);
    expect(stdout).to.match(/^Added profile \d+ of partner \d+: FR \/ Paris, contact referrals@contoso\.example, language FR\.$/m);
    const { partners } = await server!.admin.data(
      '{ partners(region: "FR") { id profiles { region location contactEmail keywords locale preferredCompanySizes active } } }',
    );
    expect(partners).to.deep.equal([
      {
        id: partnerId,
        profiles: [
          {
            region: "FR",
            location: "Paris",
            contactEmail: "referrals@contoso.example",
            keywords: ["cloud", "erp"],
            locale: "FR",
            preferredCompanySizes: ["SIZE_50_TO_249"],
            active: true,
          },
        ],
      },
    ]);
  });

  let intakeKeyId: string;
  let intakeKey: string;

  it("issues keys whose printed secret works against the server, with an expiry when asked", async () => {
    const stdout = await ok("cli", database, ["issue-key", "--role", "intake", "--label", "marketplace", "--expires", "30d"]);
    const issued = /^Issued key (\d+): INTAKE, "marketplace", expires (\S+)\.$/m.exec(stdout);
    expect(issued, stdout).to.not.equal(null);
    intakeKeyId = issued![1];
    const expires = new Date(issued![2]).getTime() - Date.now();
    expect(expires).to.be.within(29.9 * 86_400_000, 30 * 86_400_000);
    intakeKey = secretIn(stdout);
    expect(await server!.client(intakeKey).data("{ me { role label } }")).to.deep.equal({ me: { role: "INTAKE", label: "marketplace" } });

    const second = await ok("cli", database, ["issue-key", "--role", "PARTNER", "--label", "Contoso CRM sync", "--partner", partnerId]);
    expect(second).to.match(new RegExp(`^Issued key \\d+: PARTNER of partner ${partnerId}, "Contoso CRM sync", no expiry\\.$`, "m"));
    expect(await server!.client(secretIn(second)).data("{ me { role partner { id } } }")).to.deep.equal({
      me: { role: "PARTNER", partner: { id: partnerId } },
    });
  });

  it("lists the keys, newest first, without their secrets", async () => {
    const stdout = await ok("cli", database, ["list-keys"]);
    expect(stdout).to.not.include("prk_");
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(/^ID\s+ROLE\s+PARTNER\s+LABEL\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED$/);
    const rows = lines.slice(1).map((line) => line.split(/\s{2,}/));
    // The server's ADMIN_API_KEY, the partner's first key, the intake key, the CRM key.
    expect(rows.map((row) => [row[1], row[3]])).to.deep.equal([
      ["PARTNER", "Contoso CRM sync"],
      ["INTAKE", "marketplace"],
      ["ADMIN", "ADMIN_API_KEY"],
      ["PARTNER", "Contoso (first key)"],
    ]);
    expect(rows[1][0]).to.equal(intakeKeyId);
    expect(rows[1][6]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("revokes a key: the server refuses it from then on, and list-keys shows it with --all only", async () => {
    expect(await ok("cli", database, ["revoke-key", "--id", intakeKeyId], { PUBSUB_URL: TEST_REDIS_URL })).to.equal(
      `Revoked key ${intakeKeyId}.\n`,
    );
    // The revocation reaches the running server through Redis, past its cache of known keys.
    const deadline = Date.now() + 3_000;
    let code: string | undefined;
    while (Date.now() < deadline && code !== "UNAUTHENTICATED") {
      ({ code } = await server!
        .client(intakeKey)
        .error("{ me { role } }")
        .catch(() => ({ code: undefined })));
      if (code !== "UNAUTHENTICATED") await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(code).to.equal("UNAUTHENTICATED");
    expect(await ok("cli", database, ["list-keys"])).to.not.include("marketplace");
    expect(await ok("cli", database, ["list-keys", "--all"])).to.match(/marketplace\s.*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
  });

  it("refuses bad input with exit code 2 and one line on stderr, naming the option", async () => {
    const cases = [
      [
        "an unknown command",
        ["frobnicate"],
        /^admin: unknown command "frobnicate"; the commands are create-partner, add-profile, issue-key, revoke-key, list-keys/,
      ],
      ["a missing option", ["issue-key", "--role", "ADMIN"], /^admin: issue-key needs --label/],
      ["a blank name", ["create-partner", "--name", "  "], /^admin: --name: must not be blank$/],
      ["a partner that exists", ["create-partner", "--name", "Contoso"], /^admin: --name: a partner named "Contoso" exists$/],
      [
        "a bad country code",
        ["add-profile", "--partner", partnerId, "--region", "XX", "--location", "Lyon", "--contact-email", "a@b.example"],
        /^admin: --region: /,
      ],
      [
        "an unknown partner",
        ["add-profile", "--partner", "999", "--region", "FR", "--location", "Lyon", "--contact-email", "a@b.example"],
        /^admin: partner 999 not found$/,
      ],
      [
        "an unknown role",
        ["issue-key", "--role", "BOSS", "--label", "x"],
        /^admin: --role must be one of ADMIN, PARTNER, INTAKE, ANALYST \(got "BOSS"\)$/,
      ],
      [
        "a PARTNER key without partner",
        ["issue-key", "--role", "PARTNER", "--label", "x"],
        /^admin: --partner: is required for PARTNER keys$/,
      ],
      [
        "an expiry in the past",
        ["issue-key", "--role", "ADMIN", "--label", "x", "--expires", "2001-01-01T00:00:00Z"],
        /^admin: --expires: must be in the future/,
      ],
      ["an id that is no id", ["revoke-key", "--id", "abc"], /^admin: --id must be an id such as 12 \(got "abc"\)$/],
    ] as const;
    for (const [what, args, message] of cases) {
      const { code, stdout, stderr } = await run("cli", database, [...args]);
      expect({ code, stdout }, `${what}: ${stderr}`).to.deep.equal({ code: 2, stdout: "" });
      expect(stderr.endsWith("\n") && stderr.split("\n").length === 2, `${what}: ${stderr}`).to.equal(true);
      expect(stderr.slice(0, -1), what).to.match(message);
    }
  });

  it("answers --help with the commands, exit code 0", async () => {
    const stdout = await ok("cli", database, ["--help"]);
    for (const command of ["create-partner", "add-profile", "issue-key", "revoke-key", "list-keys"])
      expect(stdout).to.include(`npm run admin -- ${command} `);
    expect(await ok("cli", database, ["issue-key", "--help"])).to.match(
      /^npm run admin -- issue-key --role ROLE --label TEXT \[--partner ID\] \[--expires WHEN\]$/m,
    );
  });

  it("stops with exit code 1 and one line when the database cannot be reached", async () => {
    const { code, stderr } = await run("cli", database, ["list-keys"], { DATABASE_URL: "mysql://root@127.0.0.1:1/nowhere" });
    expect({ code, stderr }).to.deep.equal({
      code: 1,
      stderr: "admin: cannot reach MySQL at 127.0.0.1:1 (database nowhere): ECONNREFUSED; check DATABASE_URL\n",
    });
  });
});

describe("admin > npm run demo", function () {
  this.timeout(60_000);
  const database = `${testDatabase.database}_demo`;
  let server: TestServer | undefined;
  let stdout: string;

  before(async () => {
    await forget(database);
    stdout = await ok("demo", database);
  });
  after(async () => {
    await server?.stop();
    await forget(database);
  });

  it("fills a fresh database with referrals in every status, and says so", async () => {
    const counts = await statuses(database);
    for (const status of Object.values(ReferralStatus)) {
      expect(counts.get(status) ?? 0, status).to.be.at.least(1);
      expect(stdout).to.include(`${status} ${counts.get(status)}`);
    }
    expect(stdout).to.match(/^Demo data in database \w+: 3 partners, 5 marketing profiles \(FR, DE\), \d+ RFIs, \d+ referrals:$/m);
  });

  it("prints keys for every role that work against a server, and a curl line to try", async () => {
    const keys = [...stdout.matchAll(/^ {2}(ADMIN|INTAKE|ANALYST|PARTNER) +(.+?) +(prk_[A-Za-z0-9_-]{43})$/gm)].map(
      ([, role, who, secret]) => ({ role, who, secret }),
    );
    expect(keys.map((key) => key.role)).to.deep.equal(["ADMIN", "INTAKE", "ANALYST", "PARTNER", "PARTNER", "PARTNER"]);
    server = await serverOn(database);
    for (const { role, secret } of keys) {
      expect((await server.client(secret).data("{ me { role } }")).me.role).to.equal(role);
    }
    // Each partner sees its own referrals; the analyst sees them all.
    const analyst = keys.find((key) => key.role === "ANALYST")!;
    const { referrals } = await server.client(analyst.secret).data("{ referrals(first: 100) { totalCount } }");
    expect(referrals.totalCount).to.equal([...(await statuses(database)).values()].reduce((sum, n) => sum + n, 0));

    // The curl line, as printed, against this server's port.
    const curl =
      /^ {2}curl -s http:\/\/localhost:\d+\/graphql -H 'Authorization: Bearer (prk_\S+)' -H 'Content-Type: application\/json' -d '(.+)'$/m.exec(
        stdout,
      );
    expect(curl, stdout).to.not.equal(null);
    const { query } = JSON.parse(curl![2]) as { query: string };
    const answer = await new GraphQLClient(server.url, curl![1]).data(query);
    expect(answer.me.partner.name).to.equal("Contoso Cloud");
    expect(answer.referrals.totalCount).to.be.at.least(1);
  });

  it("refuses a database that is not empty: one line, exit code 2, nothing added", async () => {
    const before = await statuses(database);
    const { code, stdout: out, stderr } = await run("demo", database);
    expect(code).to.equal(2);
    expect(out).to.equal("");
    expect(stderr).to.match(
      new RegExp(
        `^demo: database ${database} is not empty \\(3 partners, \\d+ RFIs, 6 API keys\\): the demo only fills an empty one; try DATABASE_URL=mysql://…/${database}_demo\\n$`,
      ),
    );
    expect(await statuses(database)).to.deep.equal(before);
  });
});
