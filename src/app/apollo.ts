import type { Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { GraphQLFormattedError, GraphQLSchema, ValidationRule } from "graphql";
import type { Metrics } from "../metrics/metrics.js";
import { operationMetricsPlugin } from "../metrics/graphql-metrics.js";
import type { RequestContext } from "../graphql/context.js";
import { unwrapResolverError } from "@apollo/server/errors";
import { isDeadlock } from "../db/lock-conflicts.js";
import { RETRY_AFTER_SECONDS } from "../graphql/errors.js";
import { assertAffordable, parseOptions } from "../graphql/limits.js";
import { requestScopePlugin } from "../graphql/request-scope.js";
import { CompiledExecution } from "../graphql/compiled-execution.js";

export interface ApolloOptions {
  schema: GraphQLSchema;
  /** The rules every transport applies (src/graphql/limits.ts). */
  validationRules: ValidationRule[];
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  production: boolean;
  /** Drained on stop, so that requests in flight finish. */
  httpServer: Server;
  metrics: Metrics;
  /** What the server adds to every request (the key's limits, which graphql/ knows nothing of). */
  plugins: ApolloServerPlugin<RequestContext>[];
}

/** GraphQL over HTTP: the abuse limits, error shaping and metrics the WebSocket transport applies too. */
export function createApollo({
  schema,
  validationRules,
  formatError,
  production,
  httpServer,
  metrics,
  plugins,
}: ApolloOptions): ApolloServer<RequestContext> {
  const execution = new CompiledExecution(schema, (path) => metrics.executions.inc({ path }));
  return new ApolloServer<RequestContext>({
    // Apollo takes a custom executor only as a "gateway" (since v4): one that serves this schema as is.
    gateway: executingWith(schema, execution),
    validationRules,
    parseOptions,
    // Introspection is off in production through the shared validation rules, for HTTP and WebSocket alike.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT; Apollo's own handler would re-raise the signal and kill the process mid-stop.
    stopOnTerminationSignals: false,
    // Compact JSON: Apollo pretty-prints by default, which costs time and bytes on every page.
    stringifyResult: (result) => JSON.stringify(result),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Unused here, and the cache-control plugin would wrap every field's resolver to watch it.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      requestScopePlugin(),
      operationMetricsPlugin(metrics),
      ...plugins,
      {
        requestDidStart: async () => ({
          didResolveOperation: async ({ request, document, schema }) =>
            assertAffordable(schema, document, request.variables, request.operationName),
          // A lock conflict that no transaction retried is answered SERVICE_UNAVAILABLE (errors.ts): with its status.
          didEncounterErrors: async ({ errors, response }) => {
            if (!errors.some((error) => isDeadlock(unwrapResolverError(error)))) return;
            response.http.status = 503;
            response.http.headers.set("retry-after", String(RETRY_AFTER_SECONDS));
          },
        }),
      },
    ],
  });
}

/** The schema, served by `execution` (graphql-jit for queries seen often, graphql-js for the rest). */
function executingWith(schema: GraphQLSchema, execution: CompiledExecution): GatewayInterface {
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    load: async () => ({
      executor: (request) =>
        execution.execute({
          document: request.document,
          operation: request.operation,
          operationName: request.operationName,
          variables: request.request.variables,
          contextValue: request.context,
          queryHash: request.queryHash,
        }),
    }),
    stop: async () => undefined,
  };
}
