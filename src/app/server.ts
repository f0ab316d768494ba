import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DataSource } from "typeorm";
import type { Config } from "../config/config.js";
import { openDatabase } from "../db/data-source.js";
import { createErrorFormatter } from "../graphql/errors.js";
import { validationRulesFor } from "../graphql/limits.js";
import { clientAddress, proxyTrust } from "../http/client-address.js";
import { Scheduler } from "../jobs/scheduler.js";
import { LiveBus } from "../live/pubsub.js";
import { serveLive, type LiveServer } from "../live/websocket.js";
import { createLogger, type Logger } from "../logging/logger.js";
import { chargeOperationCost } from "../rate-limits/http.js";
import { RateLimits } from "../rate-limits/rate-limits.js";
import { CommittedTransitions } from "../referrals/committed-transitions.js";
import { createApollo } from "./apollo.js";
import { startBackground, type Background } from "./background.js";
import { BurstYield } from "../db/burst-yield.js";
import { ENTITIES } from "./entities.js";
import { addRoutes, createApp, GRAPHQL_PATH } from "./http.js";
import { buildAppSchema } from "./schema.js";
import { createServices, resolversOf, type Services } from "./services.js";

export interface RunningServer extends Omit<Background, "stop" | "holdLoops"> {
  url: string;
  port: number;
  httpServer: Server;
  db: DataSource;
  services: Services;
  scheduler: Scheduler;
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

/** What a start has opened, closed in reverse order on stop or on a failed start. */
class Opened {
  private readonly closers: (() => Promise<void>)[] = [];

  /** `thing`, remembering how to close it. */
  add<T>(thing: T, close: (thing: T) => Promise<void> | void): T {
    this.closers.push(async () => close(thing));
    return thing;
  }

  readonly closeAll = async (): Promise<void> => {
    for (const close of this.closers.splice(0).reverse()) await close();
  };
}

function warnAtStart(config: Config, logger: Logger): void {
  if (config.webhooks.allowPrivateUrls) {
    logger.warn(
      "WEBHOOK_ALLOW_PRIVATE_URLS is true: partners' webhook endpoints may use http:// and target loopback, private and metadata addresses. Only for local receivers (tests, the demo), never where partners are not trusted",
    );
  }
}

/** What the requests stand on: the database, the bus, the services, the jobs, the limits and the background. */
interface Connected {
  db: DataSource;
  bus: LiveBus;
  services: Services;
  scheduler: Scheduler;
  rateLimits: RateLimits;
  background: Background;
}

/** Opens and starts everything but the HTTP and WebSocket server, each thing added to `opened` for the stop. */
async function connect(config: Config, options: StartOptions, opened: Opened, logger: Logger): Promise<Connected> {
  const pool = { poolSize: config.pool.size, acquireTimeoutMs: config.pool.acquireTimeoutMs };
  const db = options.db ?? opened.add(await openDatabase(config.database, ENTITIES, pool), (own) => own.destroy());
  const bus = opened.add(await LiveBus.connect(config.pubsub, logger), (connected) => connected.close());
  const transitions = new CommittedTransitions(logger);
  const services = createServices(db, config, transitions, bus, logger);
  const revocations = opened.add(bus.keyRevocations(), async (heard) => void (await heard.return()));
  void services.apiKeys.forgetRevoked(revocations);
  await services.apiKeys.syncEnvironmentAdminKey(config.adminApiKey);
  const scheduler = opened.add(await Scheduler.connect(config.jobs, logger), (connected) => connected.stop());
  // After the job store: by default both are the same Redis, and an unreachable one is named by JOBS_URL.
  const rateLimits = opened.add(await RateLimits.connect(config.rateLimits, services.metrics, logger), (limits) => limits.close());
  const parts = { db, config, services, bus, transitions, scheduler, logger, outboxLeaseMs: options.outboxLeaseMs };
  const background = opened.add(await startBackground(parts), (started) => started.stop());
  return { db, bus, services, scheduler, rateLimits, background };
}

/** GraphQL over HTTP (Apollo) and WebSocket (graphql-ws) with the same rules, the other routes, and the live stream. */
async function serve(
  config: Config,
  connected: Connected,
  opened: Opened,
  logger: Logger,
): Promise<{ httpServer: Server; live: LiveServer }> {
  const { db, bus, services, scheduler, rateLimits } = connected;
  const production = config.env === "production";
  const schema = await buildAppSchema();
  const resolvers = resolversOf(services);
  const formatError = createErrorFormatter({ logger, hideSchemaHints: production });
  const validationRules = validationRulesFor({ introspection: !production });
  const trust = proxyTrust(config.operations.trustedProxies);
  const app = createApp(logger, trust);
  const httpServer = createHttpServer(app);
  const plugins = [chargeOperationCost(rateLimits)];
  const apollo = createApollo({ schema, validationRules, formatError, production, httpServer, metrics: services.metrics, plugins });
  await apollo.start();
  opened.add(apollo, (started) => started.stop());
  const { apiKeys, fanOut, changeStream } = services;
  const addressOf = (request: Parameters<typeof clientAddress>[0]) => clientAddress(request, trust);
  const liveOptions = { httpServer, path: GRAPHQL_PATH, schema, resolvers, apiKeys, fanOut, changeStream, db, bus };
  const live = opened.add(serveLive({ ...liveOptions, validationRules, formatError, rateLimits, addressOf, logger }), (s) => s.close());
  await changeStream.start();
  opened.add(changeStream, (started) => started.stop());
  const { burstYield } = config.operations;
  const burst = burstYield && new BurstYield(connected.background.holdLoops, burstYield);
  addRoutes(app, { config, db, bus, scheduler, services, resolvers, rateLimits, apollo, live, logger, burst });
  return { httpServer, live };
}

/** Listens on `port` (0: any free one) and answers the port taken. */
async function listen(httpServer: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, resolve);
  });
  return (httpServer.address() as AddressInfo).port;
}

/**
 * Opens the database (creating it and applying migrations), makes ADMIN_API_KEY usable, connects the
 * live events bus, the job store and the rate limits, starts what runs beside the requests, and serves
 * GraphQL over HTTP and WebSocket on `config.port` until stopped.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const opened = new Opened();
  try {
    const connected = await connect(config, options, opened, logger);
    const { httpServer, live } = await serve(config, connected, opened, logger);
    const port = await listen(httpServer, config.port);
    const url = `http://localhost:${port}${GRAPHQL_PATH}`;
    logger.info({ url, env: config.env }, "serving GraphQL over HTTP and WebSocket");
    warnAtStart(config, logger);
    const { db, services, scheduler, background } = connected;
    const { deadlines, fitScores, outbox, sequencer, mailer } = background;
    return {
      deadlines,
      fitScores,
      outbox,
      sequencer,
      mailer,
      url,
      port,
      httpServer,
      db,
      services,
      scheduler,
      live,
      logger,
      stop: opened.closeAll,
    };
  } catch (error) {
    await opened.closeAll();
    throw error;
  }
}
