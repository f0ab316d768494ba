import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type ErrorRequestHandler } from "express";
import type { DataSource } from "typeorm";
import { FitScores } from "./analytics/fit-scores.js";
import { StatsService } from "./analytics/stats.service.js";
import { ApiKeyService } from "./auth/api-key.service.js";
import type { Config } from "./config.js";
import { corsFor } from "./cors.js";
import { openDatabase } from "./db/data-source.js";
import { DeadlineJobs } from "./jobs/deadline-jobs.js";
import { FitRescoreJobs } from "./jobs/fit-jobs.js";
import { Scheduler } from "./jobs/scheduler.js";
import type { Services } from "./graphql/context.js";
import { createErrorFormatter } from "./graphql/errors.js";
import { LIMITS, validationRulesFor } from "./graphql/limits.js";
import { createApollo } from "./graphql/apollo.js";
import { createLoaders } from "./graphql/loaders.js";
import { buildAppSchema } from "./graphql/schema.js";
import { LiveBus } from "./live/pubsub.js";
import { ReferralFeed } from "./live/referral-feed.js";
import { serveLive, type LiveServer } from "./live/websocket.js";
import { createLogger, type Logger } from "./logger.js";
import { PartnerService } from "./partners/partner.service.js";
import { ReferralFinder } from "./referrals/referral.finder.js";
import { ReferralChanges } from "./referrals/referral-changes.js";
import { ReferralExpiry } from "./referrals/referral-expiry.js";
import { ReferralService } from "./referrals/referral.service.js";
import { RfiService } from "./rfis/rfi.service.js";
import { EmailChannel } from "./notifications/email-channel.js";
import { Mailer } from "./notifications/mailer.js";
import { NotificationService } from "./notifications/notification.service.js";
import { EMAIL_CHANNEL } from "./notifications/notification-kind.js";
import { isOutgoing } from "./outbox/outgoing.js";
import { OutboxRelay } from "./outbox/outbox-relay.js";
import { ReminderJobs } from "./jobs/reminder-jobs.js";
import { RetentionJobs } from "./jobs/retention-jobs.js";
import { ChangeFeedService } from "./change-feed/change-feed.service.js";
import { ChangeSequencer } from "./change-feed/sequencer.js";
import { ChangeStream } from "./live/change-stream.js";
import { WebhookChannel } from "./webhooks/webhook-channel.js";
import { writeWebhookDeliveries, WEBHOOK_CHANNEL } from "./webhooks/webhook-writer.js";
import { WebhookService } from "./webhooks/webhook.service.js";
import { Metrics } from "./metrics/metrics.js";
import type { Counter } from "prom-client";
import { metricsEndpoint } from "./metrics/endpoint.js";
import { outboxBacklog } from "./metrics/outbox-backlog.js";
import { readinessEndpoint } from "./health/readiness.js";
import { requestLogging } from "./http/request-log.js";
import { dashboard } from "./http/dashboard.js";
import { clientAddress, proxyTrust } from "./http/client-address.js";
import { withRequestScope } from "./graphql/request-scope.js";
import { poolUsage } from "./db/pool.js";
import { chargeOperationCost, limitRequests, requestCaller } from "./rate-limits/http.js";
import { RateLimits } from "./rate-limits/rate-limits.js";

export const GRAPHQL_PATH = "/graphql";

export function createServices(db: DataSource, config: Config, changes: ReferralChanges, bus: LiveBus, logger: Logger): Services {
  const apiKeys = new ApiKeyService(db, (keyId) => bus.publishKeyRevoked(keyId), logger);
  const referrals = new ReferralService(db, config, changes);
  const feed = new ReferralFeed(bus, db);
  const changeFeed = new ChangeFeedService(db);
  return {
    apiKeys,
    partners: new PartnerService(db, apiKeys),
    rfis: new RfiService(db, referrals),
    referrals,
    referralFinder: new ReferralFinder(db),
    feed,
    changeFeed,
    changeStream: new ChangeStream(bus, feed, new ChangeFeedService(db, "live-changes"), db, logger),
    stats: new StatsService(db, config.stats),
    notifications: new NotificationService(db),
    webhooks: new WebhookService(db, config.webhooks),
    metrics: new Metrics(),
  };
}

/** A body that is not JSON, or too large, gets a GraphQL-shaped error instead of an HTML page. */
const bodyErrors: ErrorRequestHandler = (error, req, res, next) => {
  const status = (error as { status?: number }).status;
  if (status === undefined || status >= 500) return next(error);
  const message = status === 413 ? `request body is larger than ${LIMITS.maxPayloadBytes} bytes` : "request body is not valid JSON";
  res.status(status).json({ errors: [{ message, extensions: { code: "BAD_REQUEST", requestId: req.id } }] });
};

export interface RunningServer {
  url: string;
  port: number;
  httpServer: Server;
  db: DataSource;
  services: Services;
  scheduler: Scheduler;
  deadlines: DeadlineJobs;
  fitScores: FitScores;
  outbox: OutboxRelay;
  sequencer: ChangeSequencer;
  mailer: Mailer;
  live: LiveServer;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** An open data source to use instead of opening one from the configuration (tests pass their own). */
  db?: DataSource;
  logger?: Logger;
  /** The outbox's lease (outbox/lease.ts unless set): tests shrink it, and the deliveries' deadline with it. */
  outboxLeaseMs?: number;
}

/**
 * Opens the database (creating it and applying migrations), makes ADMIN_API_KEY usable, connects the
 * live events bus, starts the deadline jobs, and serves GraphQL over HTTP and WebSocket on
 * `config.port` until stopped. What it opened it closes in reverse order, on stop or a failed start.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const opened: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    const db =
      options.db ?? (await openDatabase(config.database, { poolSize: config.pool.size, acquireTimeoutMs: config.pool.acquireTimeoutMs }));
    if (!options.db) opened.push(() => db.destroy());
    const bus = await LiveBus.connect(config.pubsub, logger);
    opened.push(() => bus.close());
    const changes = new ReferralChanges(logger);
    const services = createServices(db, config, changes, bus, logger);
    const revocations = bus.keyRevocations();
    void services.apiKeys.forgetRevoked(revocations);
    opened.push(async () => void (await revocations.return()));
    await services.apiKeys.syncEnvironmentAdminKey(config.adminApiKey);
    const scheduler = await Scheduler.connect(config.jobs, logger);
    opened.push(() => scheduler.stop());
    // After the job store: by default both are the same Redis, and an unreachable one is named by JOBS_URL.
    const rateLimits = await RateLimits.connect(config.rateLimits, services.metrics, logger);
    opened.push(() => rateLimits.close());
    const lateness = (seconds: number) => services.metrics.deadlineLateness.observe(seconds);
    const deadlines = new DeadlineJobs(scheduler, new ReferralExpiry(db, config, changes, lateness), config.jobs, logger);
    const fitScores = new FitScores(db);
    const rescoring = new FitRescoreJobs(scheduler, fitScores, config.jobs.sweepEveryMs, logger);
    const mailer = new Mailer(config.notifications);
    opened.push(async () => mailer.close());
    const webhookChannel = new WebhookChannel(db, config.webhooks, (message, failure) => services.webhooks.attempted(message, failure));
    const attempts: Record<string, Counter<"outcome"> | undefined> = {
      [EMAIL_CHANNEL]: services.metrics.notificationAttempts,
      [WEBHOOK_CHANNEL]: services.metrics.webhookAttempts,
    };
    const outbox = new OutboxRelay(
      db,
      scheduler,
      [new EmailChannel(db, mailer, config.notifications, config), webhookChannel],
      logger,
      (channel, outcome) => attempts[channel]?.inc({ outcome }),
      options.outboxLeaseMs,
    );
    services.webhooks.relayWith((channel) => outbox.nudge(channel));
    const sequencer = new ChangeSequencer(db, logger);
    sequencer.writeWith(writeWebhookDeliveries);
    sequencer.onBatch((batch, written) => {
      bus.publishFeedBatch(batch);
      if (written > 0) outbox.nudge(WEBHOOK_CHANNEL);
    });
    deadlines.holdDeliveriesWith((work) => outbox.holding(() => sequencer.holding(work)));
    const reminders = new ReminderJobs(scheduler, db, outbox, config.notifications.reminderBeforeMs, config.jobs.sweepEveryMs, logger);
    const retention = new RetentionJobs(scheduler, db, config.retention, logger);
    await scheduler.start();
    await deadlines.start();
    rescoring.start();
    await outbox.start();
    await reminders.start();
    await retention.start();
    sequencer.start();
    opened.push(async () => {
      rescoring.stop();
      await sequencer.stop();
      await outbox.stop();
      await deadlines.stop();
    });
    if (mailer.directory) logger.info({ directory: mailer.directory }, "SMTP_URL is not set: e-mails are written as .eml files here");
    // In this order: the fit score first, so that the live event carries it.
    changes.listen((committed) => fitScores.refresh(committed));
    changes.listen((committed) => rescoring.afterChanges(committed));
    changes.listen((committed) => deadlines.schedule(committed));
    changes.listen((committed) => services.feed.publish(committed));
    changes.listen(() => sequencer.nudge(true));
    changes.listen((committed) => {
      if (committed.some(({ action, referral }) => isOutgoing(action, referral.status))) outbox.nudge(EMAIL_CHANNEL);
    });

    const production = config.env === "production";
    const schema = await buildAppSchema();
    const formatError = createErrorFormatter({ logger, hideSchemaHints: production });
    const validationRules = validationRulesFor({ introspection: !production });
    const app = express();
    app.disable("x-powered-by");
    const trust = proxyTrust(config.operations.trustedProxies);
    // req.ip, for the rate limits and the access log: the client behind the trusted proxies (TRUST_PROXY).
    app.set("trust proxy", trust);
    // GraphQL answers POSTs, which no cache reuses: hashing each body for an ETag is wasted work.
    app.set("etag", false);
    // First: every request gets its id (x-request-id) and its access log line, whatever answers it.
    app.use(requestLogging(logger));
    const httpServer = createHttpServer(app);
    const apollo = createApollo({
      schema,
      validationRules,
      formatError,
      production,
      httpServer,
      metrics: services.metrics,
      plugins: [chargeOperationCost(rateLimits)],
    });
    await apollo.start();
    opened.push(() => apollo.stop());
    const live = serveLive({
      httpServer,
      path: GRAPHQL_PATH,
      schema,
      services,
      db,
      bus,
      validationRules,
      formatError,
      rateLimits,
      addressOf: (request) => clientAddress(request, trust),
      logger,
    });
    opened.push(() => live.close());
    await services.changeStream.start();
    opened.push(() => services.changeStream.stop());

    app.get("/healthz", (_req, res) => {
      res.json({ status: "ok", live: { sockets: live.sockets, subscriptions: services.feed.activeSubscriptions } });
    });
    // Probes and scrapers have no key: these are never limited.
    app.get(
      "/readyz",
      readinessEndpoint({
        database: () => db.query("SELECT 1"),
        redis: bus.usesRedis ? { "pub/sub": () => bus.ping() } : {},
        jobs: () => scheduler.store.ping(),
      }),
    );
    services.metrics.watch({
      pool: () => poolUsage(db),
      live: () => ({ sockets: live.sockets, subscriptions: services.feed.activeSubscriptions }),
      outbox: () =>
        outboxBacklog(db, [EMAIL_CHANNEL, WEBHOOK_CHANNEL]).catch((err) => {
          logger.warn({ err }, "could not read the outbox backlog for the metrics");
          return undefined;
        }),
    });
    app.get("/metrics", metricsEndpoint(services.metrics, config.operations.metricsToken));
    app.use(
      GRAPHQL_PATH,
      corsFor(config.operations.corsOrigins),
      express.json({ limit: LIMITS.maxPayloadBytes }),
      bodyErrors,
      // One unit per request (statistics cost more once parsed: chargeOperationCost); the key is looked up here, once.
      limitRequests(rateLimits, services.apiKeys),
      expressMiddleware(apollo, {
        // With the request's id and logger (src/graphql/request-scope.ts), for its errors and log lines.
        context: withRequestScope(async ({ req, res }) => ({
          caller: await requestCaller(req, res, services.apiKeys),
          services,
          loaders: createLoaders(db),
        })),
      }),
    );
    // Last: the web dashboard at `/`, which talks to the server through /graphql like any client.
    app.use(dashboard());

    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.port, resolve);
    });
    const { port } = httpServer.address() as AddressInfo;
    const url = `http://localhost:${port}${GRAPHQL_PATH}`;
    logger.info({ url, env: config.env }, "serving GraphQL over HTTP and WebSocket");
    if (config.webhooks.allowPrivateUrls) {
      logger.warn(
        "WEBHOOK_ALLOW_PRIVATE_URLS is true: partners' webhook endpoints may use http:// and target loopback, private and metadata addresses. Only for local receivers (tests, the demo), never where partners are not trusted",
      );
    }
    return {
      url,
      port,
      httpServer,
      db,
      services,
      scheduler,
      deadlines,
      fitScores,
      outbox,
      sequencer,
      mailer,
      live,
      logger,
      stop: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
