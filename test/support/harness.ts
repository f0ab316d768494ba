import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config/config.js";
import { startServer, type RunningServer, type StartOptions } from "../../src/app/server.js";
import { GraphQLClient } from "./client.js";
import { databaseUrlOf, dropTestDatabase, emptyOutboxIfAny, TEST_DATABASE_URL, testDatabase, truncateAll } from "./database.js";
import { purgeNamespace } from "./redis.js";

export const ADMIN_KEY = "test-admin-key-0123456789-0123456789-0123456789";

/** The configuration a test server runs with: the test database, any free port, the test admin key. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: TEST_DATABASE_URL,
    ADMIN_API_KEY: ADMIN_KEY,
    // E-mails of servers without SMTP_URL go to files outside the repository.
    MAIL_DIR: join(tmpdir(), `partner-referrals-test-mail-${process.pid}`),
    // Rate limits out of the way of tests about something else (test/rate-limits/ sets its own): counted
    // in each server's memory, so that no test spends another's allowance, with room for the suites that
    // send many requests, bad keys (test/auth/) or sockets per key (test/live/) within a minute.
    RATE_LIMIT_STORE: "memory",
    RATE_LIMIT: "1000000",
    RATE_LIMIT_ANONYMOUS: "1000000",
    RATE_LIMIT_FAILED_AUTH: "1000000",
    MAX_SOCKETS_PER_KEY: "1000",
    // Webhook receivers of the tests listen on loopback (test/webhooks/ checks the strict default).
    WEBHOOK_ALLOW_PRIVATE_URLS: "true",
    ...overrides,
  });
}

export interface TestServer extends RunningServer {
  admin: GraphQLClient;
  /** A client for this server with the given key (or none). */
  client(key?: string): GraphQLClient;
}

/** A real server on a real port, over the test database. */
export async function startTestServer(overrides: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  const server = await startServer(testConfig(overrides), options);
  const client = (key?: string) => new GraphQLClient(server.url, key);
  return Object.assign(server, { admin: client(ADMIN_KEY), client });
}

/** A real server on emptied tables (for settings known only once the test runs, such as a port). */
export async function startEmptyServer(overrides: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  // Jobs left by earlier servers name rows of tables about to be emptied (their ids come back).
  await purgeNamespace(testDatabase.database);
  await emptyOutboxIfAny();
  const server = await startTestServer(overrides, options);
  await truncateAll(server.db);
  await server.services.apiKeys.syncEnvironmentAdminKey(ADMIN_KEY);
  return server;
}

/**
 * One server for a describe block, on emptied tables: call at the top of the block and read
 * `.current` inside tests.
 */
export function useTestServer(overrides: Record<string, string> = {}, options: StartOptions = {}): { current: TestServer } {
  const holder = {} as { current: TestServer };
  before(async function () {
    this.timeout(60_000);
    holder.current = await startEmptyServer(overrides, options);
  });
  after(async () => {
    await holder.current?.stop();
  });
  return holder;
}

/**
 * Servers on a database of their own (`<test database>_<suffix>`, its jobs and channels named after
 * it), made fresh for each test and dropped after it: for tests that change what every other server
 * of the suite relies on, such as which ADMIN_API_KEY is valid.
 */
export function serversOnOwnDatabase(suffix: string): {
  database: string;
  start(overrides?: Record<string, string>, options?: StartOptions): Promise<TestServer>;
} {
  const database = `${testDatabase.database}_${suffix}`;
  const started: TestServer[] = [];
  const forget = async () => {
    await dropTestDatabase(database);
    await purgeNamespace(database);
  };
  beforeEach(forget);
  afterEach(async () => {
    for (const running of started.splice(0)) await running.stop();
    await forget();
  });
  return {
    database,
    async start(overrides = {}, options = {}) {
      const running = await startTestServer({ DATABASE_URL: databaseUrlOf(database), ...overrides }, options);
      started.push(running);
      return running;
    },
  };
}
