import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type ErrorRequestHandler } from "express";
import type { DataSource } from "typeorm";
import { ApiKeyService } from "./auth/api-key.service.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/data-source.js";
import { DeadlineJobs } from "./jobs/deadline-jobs.js";
import type { RequestContext, Services } from "./graphql/context.js";
import { createErrorFormatter } from "./graphql/errors.js";
import { assertAffordable, LIMITS, parseOptions, validationRules } from "./graphql/limits.js";
import { createLoaders } from "./graphql/loaders.js";
import { buildAppSchema } from "./graphql/schema.js";
import { createLogger, type Logger } from "./logger.js";
import { PartnerService } from "./partners/partner.service.js";
import { ReferralFinder } from "./referrals/referral.finder.js";
import { ReferralChanges } from "./referrals/referral-changes.js";
import { ReferralService } from "./referrals/referral.service.js";
import { RfiService } from "./rfis/rfi.service.js";

export const GRAPHQL_PATH = "/graphql";

export function createServices(db: DataSource, config: Config, changes: ReferralChanges): Services {
  const apiKeys = new ApiKeyService(db);
  const referrals = new ReferralService(db, config, changes);
  return {
    apiKeys,
    partners: new PartnerService(db, apiKeys),
    rfis: new RfiService(db, referrals),
    referrals,
    referralFinder: new ReferralFinder(db),
  };
}

/** A body that is not JSON, or too large, gets a GraphQL-shaped error instead of an HTML page. */
const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const status = (error as { status?: number }).status;
  if (status === undefined || status >= 500) return next(error);
  const message =
    status === 413 ? `request body is larger than ${LIMITS.maxPayloadBytes} bytes` : "request body is not valid JSON";
  res.status(status).json({ errors: [{ message, extensions: { code: "BAD_REQUEST" } }] });
};

export interface RunningServer {
  url: string;
  port: number;
  httpServer: Server;
  db: DataSource;
  services: Services;
  deadlines: DeadlineJobs;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** An open data source to use instead of opening one from the configuration (tests pass their own). */
  db?: DataSource;
  logger?: Logger;
}

/**
 * Opens the database (creating it and applying migrations), makes ADMIN_API_KEY usable, starts the
 * deadline jobs, and serves GraphQL over HTTP on `config.port` until stopped.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const db = options.db ?? (await openDatabase(config.database));
  const closeDb = async () => {
    if (!options.db) await db.destroy();
  };
  const changes = new ReferralChanges(logger);
  const services = createServices(db, config, changes);
  let deadlines: DeadlineJobs;
  try {
    await services.apiKeys.syncEnvironmentAdminKey(config.adminApiKey);
    deadlines = await DeadlineJobs.start(db, services.referrals, config.jobs, logger);
  } catch (error) {
    await closeDb();
    throw error;
  }
  changes.listen(({ referral }) => deadlines.schedule(referral));

  const production = config.env === "production";
  const app = express();
  app.disable("x-powered-by");
  const httpServer = createHttpServer(app);
  const apollo = new ApolloServer<RequestContext>({
    schema: await buildAppSchema(),
    validationRules,
    parseOptions,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError: createErrorFormatter({ logger, hideSchemaHints: production }),
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT; Apollo's own handler would re-raise the signal and kill the process mid-stop.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        requestDidStart: async () => ({
          didResolveOperation: async ({ request, document, schema }) =>
            assertAffordable(schema, document, request.variables, request.operationName),
        }),
      },
    ],
  });
  await apollo.start();

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: LIMITS.maxPayloadBytes }),
    bodyErrors,
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        caller: await services.apiKeys.authenticate(req.headers.authorization),
        services,
        loaders: createLoaders(db),
      }),
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://localhost:${port}${GRAPHQL_PATH}`;
  logger.info({ url, env: config.env }, "serving GraphQL");

  return {
    url,
    port,
    httpServer,
    db,
    services,
    deadlines,
    logger,
    async stop() {
      await apollo.stop();
      await deadlines.stop();
      await closeDb();
    },
  };
}
