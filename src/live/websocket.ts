import type { Server } from "node:http";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from "graphql";
import { WebSocketServer, type WebSocket } from "ws";
import type { DataSource } from "typeorm";
import type { Caller } from "../auth/caller.js";
import type { RequestContext, Services } from "../graphql/context.js";
import { ErrorCode } from "../graphql/errors.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders } from "../graphql/loaders.js";
import { prepareOperation } from "../graphql/operation.js";
import type { LiveBus } from "./pubsub.js";

/** Why the server closes a socket: graphql-ws's own codes, and the feed's. */
export enum LiveCloseCode {
  /** A bad, unknown or revoked key: in `connection_init`, or revoked while connected. */
  Forbidden = CloseCode.Forbidden,
  /** No `connection_init` within the wait. */
  ConnectionInitialisationTimeout = CloseCode.ConnectionInitialisationTimeout,
  /** The client stopped reading: more than LIMITS.maxPendingEvents live events waited for it. */
  SlowConsumer = 4413,
}

/** How long a new socket may wait before `connection_init`; how often the server pings. */
export const CONNECTION_INIT_WAIT_MS = 3000;
export const KEEP_ALIVE_MS = 12_000;

type LiveExtra = { caller?: Caller };

export interface LiveServerOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  services: Services;
  db: DataSource;
  bus: LiveBus;
  /** The validation rules HTTP requests get. */
  validationRules: ValidationRule[];
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

export interface LiveServer {
  /** Open sockets on this instance. */
  readonly sockets: number;
  close(): Promise<void>;
}

/** graphql-js reports variables that do not coerce without a code; over HTTP Apollo calls them bad input. */
function codeOf(error: GraphQLError): GraphQLError {
  if (error.extensions.code === undefined && error.path === undefined && error.message.startsWith('Variable "$')) {
    return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
  return error;
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's path: a thin adapter that
 * authenticates the socket's key, then runs every operation through the same rules, context and
 * error formatting as HTTP.
 */
export function serveLive(options: LiveServerOptions): LiveServer {
  const { schema, services, db, bus } = options;
  const wss = new WebSocketServer({ server: options.httpServer, path: options.path, maxPayload: LIMITS.maxPayloadBytes });
  const socketsOfKey = new Map<string, Set<WebSocket>>();
  const format = (error: GraphQLError) => {
    const coded = codeOf(error);
    return options.formatError(coded.toJSON(), coded);
  };

  const graphqlWs = useServer<Record<string, unknown> | undefined, LiveExtra>(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.extra.request.headers.authorization;
        try {
          ctx.extra.caller = await services.apiKeys.authenticate(typeof authorization === "string" ? authorization : undefined);
        } catch {
          return false;
        }
        const sockets = socketsOfKey.get(ctx.extra.caller.keyId) ?? new Set();
        socketsOfKey.set(ctx.extra.caller.keyId, sockets.add(ctx.extra.socket));
        return true;
      },
      onClose: (ctx) => {
        const keyId = ctx.extra.caller?.keyId;
        if (keyId === undefined) return;
        socketsOfKey.get(keyId)?.delete(ctx.extra.socket);
        if (socketsOfKey.get(keyId)?.size === 0) socketsOfKey.delete(keyId);
      },
      onSubscribe: (ctx, _id, payload) => {
        if (Object.keys(ctx.subscriptions).length > LIMITS.maxOperationsPerSocket) {
          return [
            new GraphQLError(`At most ${LIMITS.maxOperationsPerSocket} operations may run at once on one socket`, {
              extensions: { code: "BAD_REQUEST" },
            }),
          ];
        }
        const prepared = prepareOperation(schema, payload, options.validationRules);
        if ("errors" in prepared) return prepared.errors;
        const { socket } = ctx.extra;
        const contextValue: RequestContext = {
          caller: ctx.extra.caller!,
          services,
          loaders: createLoaders(db),
          dropSlowConsumer: () =>
            socket.close(LiveCloseCode.SlowConsumer, `Slow consumer: over ${LIMITS.maxPendingEvents} events unsent`),
        };
        return {
          schema,
          document: prepared.document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue,
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : result,
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    },
    wss,
    KEEP_ALIVE_MS,
  );

  // A revoked key loses its sockets at once, on every instance.
  const revocations = bus.keyRevocations();
  void (async () => {
    for await (const { keyId } of revocations) {
      for (const socket of socketsOfKey.get(keyId) ?? []) socket.close(LiveCloseCode.Forbidden, "Forbidden: API key revoked");
    }
  })();

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      await revocations.return();
      await graphqlWs.dispose();
    },
  };
}
