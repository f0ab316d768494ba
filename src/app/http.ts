import { expressMiddleware } from "@as-integrations/express5";
import type { ApolloServer } from "@apollo/server";
import express, { type Express, type ErrorRequestHandler, type RequestHandler } from "express";
import type { DataSource } from "typeorm";
import type { BurstYield } from "../db/burst-yield.js";
import type { Config } from "../config/config.js";
import { poolUsage } from "../db/pool.js";
import type { RequestContext, ResolverInstances } from "../graphql/context.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders } from "../graphql/loaders.js";
import { withRequestScope } from "../graphql/request-scope.js";
import { readinessEndpoint } from "../health/readiness.js";
import { corsFor } from "../http/cors.js";
import { dashboard } from "../http/dashboard.js";
import type { ProxyTrust } from "../http/client-address.js";
import { requestLogging } from "../http/request-log.js";
import type { Scheduler } from "../jobs/scheduler.js";
import type { LiveBus } from "../live/pubsub.js";
import type { LiveServer } from "../live/websocket.js";
import type { Logger } from "../logging/logger.js";
import { metricsEndpoint } from "../metrics/endpoint.js";
import { outboxBacklog } from "../metrics/outbox-backlog.js";
import { EMAIL_CHANNEL } from "../notifications/notification-kind.js";
import { limitRequests, requestCaller } from "../rate-limits/http.js";
import type { RateLimits } from "../rate-limits/rate-limits.js";
import { WEBHOOK_CHANNEL } from "../webhooks/webhook-writer.js";
import type { Services } from "./services.js";

export const GRAPHQL_PATH = "/graphql";

/** A body that is not JSON, or too large, gets a GraphQL-shaped error instead of an HTML page. */
const bodyErrors: ErrorRequestHandler = (error, req, res, next) => {
  const status = (error as { status?: number }).status;
  if (status === undefined || status >= 500) return next(error);
  const message = status === 413 ? `request body is larger than ${LIMITS.maxPayloadBytes} bytes` : "request body is not valid JSON";
  res.status(status).json({ errors: [{ message, extensions: { code: "BAD_REQUEST", requestId: req.id } }] });
};

/** The express app before its routes: request ids and the access log first, whatever answers. */
export function createApp(logger: Logger, trust: ProxyTrust): Express {
  const app = express();
  app.disable("x-powered-by");
  // req.ip, for the rate limits and the access log: the client behind the trusted proxies (TRUST_PROXY).
  app.set("trust proxy", trust);
  // GraphQL answers POSTs, which no cache reuses: hashing each body for an ETag is wasted work.
  app.set("etag", false);
  app.use(requestLogging(logger));
  return app;
}

export interface Routes {
  config: Config;
  db: DataSource;
  bus: LiveBus;
  scheduler: Scheduler;
  services: Services;
  resolvers: ResolverInstances;
  rateLimits: RateLimits;
  apollo: ApolloServer<RequestContext>;
  live: LiveServer;
  logger: Logger;
  /** Told of each GraphQL request from its arrival to its answer; undefined when BACKGROUND_YIELD_AT is 0. */
  burst: BurstYield | undefined;
}

/** Probes and the metrics: they have no key, and are never limited. */
function operationsRoutes(app: Express, { config, db, bus, scheduler, services, live, logger }: Routes): void {
  const liveFigures = () => ({ sockets: live.sockets, subscriptions: services.fanOut.activeSubscriptions });
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", live: liveFigures() });
  });
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
    live: liveFigures,
    outbox: () =>
      outboxBacklog(db, [EMAIL_CHANNEL, WEBHOOK_CHANNEL]).catch((err) => {
        logger.warn({ err }, "could not read the outbox backlog for the metrics");
        return undefined;
      }),
  });
  app.get("/metrics", metricsEndpoint(services.metrics, config.operations.metricsToken));
}

/** Tells `burst` of each GraphQL request, from its arrival to its answer. */
function countedIn(burst: BurstYield | undefined): RequestHandler {
  return (_req, res, next) => {
    if (burst) res.once("close", burst.begin());
    next();
  };
}

/** /healthz, /readyz, /metrics, GraphQL over HTTP, then the web dashboard at `/`. */
export function addRoutes(app: Express, routes: Routes): void {
  const { config, db, services, resolvers, rateLimits, apollo, burst } = routes;
  operationsRoutes(app, routes);
  app.use(
    GRAPHQL_PATH,
    countedIn(burst),
    corsFor(config.operations.corsOrigins),
    express.json({ limit: LIMITS.maxPayloadBytes }),
    bodyErrors,
    // One unit per request (statistics cost more once parsed: chargeOperationCost); the key is looked up here, once.
    limitRequests(rateLimits, services.apiKeys),
    expressMiddleware(apollo, {
      // With the request's id and logger (src/graphql/request-scope.ts), for its errors and log lines.
      context: withRequestScope(async ({ req, res }) => ({
        caller: await requestCaller(req, res, services.apiKeys),
        resolvers,
        loaders: createLoaders(db),
      })),
    }),
  );
  // Last: the web dashboard, which talks to the server through /graphql like any client.
  app.use(dashboard());
}
