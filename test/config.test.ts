import { expect } from "chai";
import { ConfigError, loadConfig } from "../src/config/config.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The ConfigError that loadConfig throws for `env`. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.an.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("config > loadConfig", () => {
  it("falls back to the defaults when nothing is set", () => {
    expect(loadConfig({})).to.deep.equal({
      env: "development",
      port: 4000,
      database: { host: "127.0.0.1", port: 3306, user: "root", password: "", database: "partner_referrals" },
      pool: { size: 20, acquireTimeoutMs: 5000 },
      stats: { concurrency: 2, waitTimeoutMs: 30_000 },
      adminApiKey: undefined,
      newReferralResponseWindowMs: 72 * HOUR,
      evaluationWindowMs: 7 * DAY,
      duplicateWindowMs: 30 * DAY,
      jobs: { url: "redis://127.0.0.1:6379", namespace: "partner_referrals", processEveryMs: 1000, sweepEveryMs: 60_000 },
      pubsub: { url: undefined, namespace: "partner_referrals" },
      notifications: {
        smtpUrl: undefined,
        mailFrom: "Partner referrals <referrals@localhost>",
        mailDir: "var/mail",
        publicUrl: "http://localhost:4000",
        retryDelaysMs: [30_000, 120_000, 600_000, 1_800_000, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR],
        reminderBeforeMs: 24 * HOUR,
      },
      webhooks: {
        timeoutMs: 10_000,
        retryDelaysMs: [5_000, 300_000, 1_800_000, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
        disableAfterMs: 5 * 24 * HOUR,
        // In every mode unless asked: a forgotten NODE_ENV must not open internal hosts to partners.
        allowPrivateUrls: false,
      },
      rateLimits: {
        perKeyPerMinute: 1200,
        anonymousPerMinute: 60,
        failedAuthPerMinute: 10,
        // Shared through the Redis the jobs use.
        store: "redis://127.0.0.1:6379",
        namespace: "partner_referrals",
        maxSocketsPerKey: 20,
      },
      retention: { outboxMs: 30 * DAY, idempotencyMs: 30 * DAY },
      operations: {
        metricsToken: undefined,
        shutdownTimeoutMs: 30_000,
        corsOrigins: [],
        trustedProxies: [],
        burstYield: { from: 16, atMostMs: 2_000 },
      },
      logLevel: "info",
    });
  });

  it("reads every variable when set", () => {
    expect(
      loadConfig({
        NODE_ENV: "production",
        PORT: "8080",
        DATABASE_URL: "mysql://app:s%3Acret@db.internal:3307/referrals_prod",
        ADMIN_API_KEY: "a".repeat(32),
        DATABASE_POOL_SIZE: "50",
        DATABASE_ACQUIRE_TIMEOUT: "750ms",
        STATS_CONCURRENCY: "4",
        STATS_WAIT_TIMEOUT: "1 minute",
        NEW_REFERRAL_RESPONSE_WINDOW: "2s",
        EVALUATION_WINDOW: "90 minutes",
        DUPLICATE_WINDOW: "14d",
        JOBS_URL: "mongodb://mongo:27017/jobs",
        JOBS_NAMESPACE: "eu-west",
        JOBS_PROCESS_EVERY: "500ms",
        EXPIRY_SWEEP_EVERY: "2 minutes",
        PUBSUB_URL: "redis://cache.internal:6379",
        PUBSUB_NAMESPACE: "eu-west-live",
        SMTP_URL: "smtps://mailer:s3cret@smtp.example.com:465",
        MAIL_FROM: "Referrals <referrals@example.com>",
        MAIL_DIR: "/tmp/mail",
        PUBLIC_URL: "https://referrals.example.com/",
        NOTIFY_RETRY_SCHEDULE: "1s, 1m",
        REMINDER_BEFORE: "12h",
        WEBHOOK_TIMEOUT: "3s",
        WEBHOOK_RETRY_SCHEDULE: "1s,1m",
        WEBHOOK_DISABLE_AFTER: "2d",
        WEBHOOK_ALLOW_PRIVATE_URLS: "true",
        RATE_LIMIT: "5000",
        RATE_LIMIT_ANONYMOUS: "30",
        RATE_LIMIT_FAILED_AUTH: "5",
        RATE_LIMIT_STORE: "memory",
        RATE_LIMIT_NAMESPACE: "eu-west-limits",
        MAX_SOCKETS_PER_KEY: "50",
        METRICS_TOKEN: "scrape-token",
        SHUTDOWN_TIMEOUT: "10s",
        OUTBOX_RETENTION: "90d",
        IDEMPOTENCY_RETENTION: "24h",
        CORS_ORIGINS: "https://app.example.com, https://crm.example.com/",
        TRUST_PROXY: "10.0.0.0/8, loopback",
        BACKGROUND_YIELD_AT: "64",
        BACKGROUND_YIELD_MAX: "500ms",
        LOG_LEVEL: "warn",
      }),
    ).to.deep.equal({
      env: "production",
      port: 8080,
      database: { host: "db.internal", port: 3307, user: "app", password: "s:cret", database: "referrals_prod" },
      pool: { size: 50, acquireTimeoutMs: 750 },
      stats: { concurrency: 4, waitTimeoutMs: 60_000 },
      adminApiKey: "a".repeat(32),
      newReferralResponseWindowMs: 2_000,
      evaluationWindowMs: 90 * 60_000,
      duplicateWindowMs: 14 * DAY,
      jobs: { url: "mongodb://mongo:27017/jobs", namespace: "eu-west", processEveryMs: 500, sweepEveryMs: 120_000 },
      pubsub: { url: "redis://cache.internal:6379", namespace: "eu-west-live" },
      notifications: {
        smtpUrl: "smtps://mailer:s3cret@smtp.example.com:465",
        mailFrom: "Referrals <referrals@example.com>",
        mailDir: "/tmp/mail",
        publicUrl: "https://referrals.example.com",
        retryDelaysMs: [1_000, 60_000],
        reminderBeforeMs: 12 * HOUR,
      },
      webhooks: { timeoutMs: 3_000, retryDelaysMs: [1_000, 60_000], disableAfterMs: 2 * 24 * HOUR, allowPrivateUrls: true },
      rateLimits: {
        perKeyPerMinute: 5000,
        anonymousPerMinute: 30,
        failedAuthPerMinute: 5,
        store: "memory",
        namespace: "eu-west-limits",
        maxSocketsPerKey: 50,
      },
      retention: { outboxMs: 90 * DAY, idempotencyMs: 24 * HOUR },
      operations: {
        metricsToken: "scrape-token",
        shutdownTimeoutMs: 10_000,
        corsOrigins: ["https://app.example.com", "https://crm.example.com"],
        trustedProxies: ["10.0.0.0/8", "loopback"],
        burstYield: { from: 64, atMostMs: 500 },
      },
      logLevel: "warn",
    });
  });

  for (const [text, expected] of [
    ["2s", 2_000],
    ["90 minutes", 90 * 60_000],
    ["72h", 72 * HOUR],
    ["7d", 7 * DAY],
  ] as const) {
    it(`understands the human duration "${text}" as ${expected} ms in both windows`, () => {
      const config = loadConfig({ NEW_REFERRAL_RESPONSE_WINDOW: text, EVALUATION_WINDOW: text });
      expect(config.newReferralResponseWindowMs).to.equal(expected);
      expect(config.evaluationWindowMs).to.equal(expected);
    });
  }

  it("names the job store's namespace after the database unless JOBS_NAMESPACE is set", () => {
    expect(loadConfig({ DATABASE_URL: "mysql://root@127.0.0.1:3306/tenant_a" }).jobs.namespace).to.equal("tenant_a");
    expect(loadConfig({ JOBS_URL: "rediss://cache.internal:6380" }).jobs.url).to.equal("rediss://cache.internal:6380");
  });

  it("never holds the background for a burst when BACKGROUND_YIELD_AT is 0", () => {
    expect(loadConfig({ BACKGROUND_YIELD_AT: "0" }).operations.burstYield).to.equal(undefined);
  });

  it("takes a number of hops for TRUST_PROXY", () => {
    expect(loadConfig({ TRUST_PROXY: "2" }).operations.trustedProxies).to.equal(2);
    expect(loadConfig({ TRUST_PROXY: "false" }).operations.trustedProxies).to.deep.equal([]);
  });

  it("stays silent under test unless LOG_LEVEL says otherwise", () => {
    expect(loadConfig({ NODE_ENV: "test" }).logLevel).to.equal("silent");
    expect(loadConfig({ NODE_ENV: "test", LOG_LEVEL: "debug" }).logLevel).to.equal("debug");
  });

  const BAD_VALUES: [variable: string, value: string][] = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["DATABASE_URL", "postgres://root@127.0.0.1:5432/partner_referrals"],
    ["DATABASE_URL", "not a url"],
    ["DATABASE_URL", "mysql://root@127.0.0.1:3306/partner-referrals"],
    ["NODE_ENV", "staging"],
    ["ADMIN_API_KEY", "too-short-0123456789"],
    ["NEW_REFERRAL_RESPONSE_WINDOW", "soon"],
    ["EVALUATION_WINDOW", "0"],
    ["EVALUATION_WINDOW", "-5s"],
    ["DUPLICATE_WINDOW", "a month"],
    ["LOG_LEVEL", "loud"],
    ["DATABASE_POOL_SIZE", "0"],
    ["DATABASE_POOL_SIZE", "many"],
    ["DATABASE_ACQUIRE_TIMEOUT", "never"],
    ["STATS_CONCURRENCY", "1.5"],
    ["STATS_WAIT_TIMEOUT", "0s"],
    ["JOBS_URL", "postgres://127.0.0.1:5432/jobs"],
    ["JOBS_URL", "127.0.0.1:6379"],
    ["JOBS_NAMESPACE", "a b"],
    ["JOBS_PROCESS_EVERY", "often"],
    ["EXPIRY_SWEEP_EVERY", "0s"],
    ["PUBSUB_URL", "mongodb://mongo:27017/live"],
    ["PUBSUB_NAMESPACE", "live events"],
    ["SMTP_URL", "http://mail.example.com"],
    ["MAIL_FROM", "Referrals <not an address>"],
    ["MAIL_FROM", "nobody"],
    ["PUBLIC_URL", "ftp://referrals.example.com"],
    ["NOTIFY_RETRY_SCHEDULE", "30s,,2m"],
    ["REMINDER_BEFORE", "tomorrow"],
    ["WEBHOOK_TIMEOUT", "soon"],
    ["WEBHOOK_TIMEOUT", "5m"],
    ["WEBHOOK_RETRY_SCHEDULE", "5s,later"],
    ["WEBHOOK_DISABLE_AFTER", "0d"],
    ["WEBHOOK_ALLOW_PRIVATE_URLS", "yes"],
    ["RATE_LIMIT", "0"],
    ["RATE_LIMIT_ANONYMOUS", "many"],
    ["RATE_LIMIT_STORE", "mongodb://mongo:27017/limits"],
    ["MAX_SOCKETS_PER_KEY", "-1"],
    ["SHUTDOWN_TIMEOUT", "never"],
    ["OUTBOX_RETENTION", "forever"],
    ["IDEMPOTENCY_RETENTION", "0s"],
    ["CORS_ORIGINS", "app.example.com"],
    ["CORS_ORIGINS", "https://app.example.com/path"],
    ["TRUST_PROXY", "true"],
    ["TRUST_PROXY", "proxy.internal"],
    ["TRUST_PROXY", "10.0.0.0/33"],
    ["BACKGROUND_YIELD_AT", "-1"],
    ["BACKGROUND_YIELD_AT", "some"],
    ["BACKGROUND_YIELD_MAX", "0s"],
  ];
  for (const [variable, value] of BAD_VALUES) {
    it(`refuses ${variable}=${JSON.stringify(value)} with one line naming ${variable}`, () => {
      const { message } = configError({ [variable]: value });
      expect(message).to.not.include("\n");
      expect(message.startsWith(`${variable} `), message).to.equal(true);
    });
  }

  it("allows only public https webhook URLs in every mode unless WEBHOOK_ALLOW_PRIVATE_URLS=true opts in", () => {
    for (const NODE_ENV of [undefined, "development", "test", "production"]) {
      expect(loadConfig({ NODE_ENV }).webhooks.allowPrivateUrls, NODE_ENV).to.equal(false);
      expect(loadConfig({ NODE_ENV, WEBHOOK_ALLOW_PRIVATE_URLS: "true" }).webhooks.allowPrivateUrls, NODE_ENV).to.equal(true);
      expect(loadConfig({ NODE_ENV, WEBHOOK_ALLOW_PRIVATE_URLS: "false" }).webhooks.allowPrivateUrls, NODE_ENV).to.equal(false);
    }
  });

  it("keeps WEBHOOK_TIMEOUT within a delivery's deadline, half the outbox's lease of 2 minutes", () => {
    expect(loadConfig({ WEBHOOK_TIMEOUT: "1m" }).webhooks.timeoutMs).to.equal(60_000);
    const { message } = configError({ WEBHOOK_TIMEOUT: "61s" });
    expect(message).to.equal(`WEBHOOK_TIMEOUT must be at most 60s, the deadline of a delivery (half the outbox's lease) (got "61s")`);
  });

  it("never repeats the password of a refused DATABASE_URL, JOBS_URL, PUBSUB_URL or RATE_LIMIT_STORE", () => {
    for (const [variable, value] of [
      ["DATABASE_URL", "postgres://app:hunter2@db:5432/referrals"],
      ["JOBS_URL", "amqp://jobs:hunter2@queue:5672"],
      ["PUBSUB_URL", "mongodb://live:hunter2@mongo:27017"],
      ["RATE_LIMIT_STORE", "memcached://limits:hunter2@cache:11211"],
    ]) {
      const { message } = configError({ [variable]: value });
      expect(message, variable).to.not.include("hunter2");
      expect(message.startsWith(`${variable} `), message).to.equal(true);
    }
  });

  it("keeps rate limits in memory when no Redis is configured at all", () => {
    expect(loadConfig({ JOBS_URL: "mongodb://mongo:27017/jobs" }).rateLimits.store).to.equal("memory");
    expect(loadConfig({ JOBS_URL: "mongodb://mongo:27017/jobs", PUBSUB_URL: "redis://cache:6379" }).rateLimits.store).to.equal(
      "redis://cache:6379",
    );
  });

  it("never repeats a refused SMTP_URL, which may hold a password, in its message", () => {
    const { message } = configError({ SMTP_URL: "http://mailer:hunter2@mail.example.com" });
    expect(message).to.not.include("hunter2");
  });

  it("points links in e-mails at the server's own port unless PUBLIC_URL is set", () => {
    expect(loadConfig({ PORT: "8081" }).notifications.publicUrl).to.equal("http://localhost:8081");
  });

  it("never repeats a refused ADMIN_API_KEY in its message", () => {
    const { message } = configError({ ADMIN_API_KEY: "too-short-0123456789" });
    expect(message).to.not.include("too-short-0123456789");
  });
});
