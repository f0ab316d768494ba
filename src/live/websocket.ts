import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Logger } from "pino";
import { CloseCode } from "graphql-ws";
import {
  createSourceEventStream,
  GraphQLError,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
import { WebSocketServer, type WebSocket } from "ws";
import type { DataSource } from "typeorm";
import { whenExpired, type Caller } from "../auth/caller.js";
import type { RequestContext, Services } from "../graphql/context.js";
import { ErrorCode } from "../graphql/error-codes.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import { prepareOperation } from "../graphql/operation.js";
import { tieToScope, type RequestScope } from "../graphql/request-scope.js";
import { documentCost } from "../rate-limits/cost.js";
import { isRefusedKey, rateLimitedError, type RateLimits } from "../rate-limits/rate-limits.js";
import type { LiveBus } from "./pubsub.js";
import type { LiveRequest } from "./referral-feed.js";
import { attachGraphQLWs, type SocketExtra } from "./ws-adapter.js";

/** Why the server closes a socket: graphql-ws's own codes, and the feed's. */
export enum LiveCloseCode {
  /** A bad, unknown or revoked key: in `connection_init`, or revoked while connected. */
  Forbidden = CloseCode.Forbidden,
  /** No `connection_init` within the wait. */
  ConnectionInitialisationTimeout = CloseCode.ConnectionInitialisationTimeout,
  /** The client stopped reading: more than LIMITS.maxPendingEvents live events waited for it. */
  SlowConsumer = 4413,
  /** Too many sockets for this key on this instance, or too many failed keys (or keyless sockets) from this address. */
  RateLimited = 4429,
  /** The server could not replay the changes `referralChanged(after)` asked for: reconnect with the last cursor. */
  ReplayFailed = CloseCode.InternalServerError,
}

/** How long a new socket may wait before `connection_init`; how often the server pings. */
export const CONNECTION_INIT_WAIT_MS = 3000;
export const KEEP_ALIVE_MS = 12_000;

interface LiveExtra extends SocketExtra {
  caller?: Caller;
  /** Cancels the closing of the socket when its key expires. */
  stopExpiry?: () => void;
}

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
  /** The limits HTTP requests get: subscribe messages spend the key's, failed keys the address's. */
  rateLimits: RateLimits;
  /** The client's address behind the trusted proxies, as HTTP requests see it. */
  addressOf: (request: IncomingMessage) => string;
  /** Where a socket's unexpected errors are logged, each socket's lines with its own `socketId`. */
  logger?: Logger;
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

/** A context whose loaders are made only if a field needs them: a subscription's own context never does. */
class SocketContext implements RequestContext {
  private made: Loaders | undefined;

  constructor(
    readonly caller: Caller,
    readonly services: Services,
    private readonly db: DataSource,
    public live: LiveRequest | undefined,
  ) {}

  get loaders(): Loaders {
    return (this.made ??= createLoaders(this.db));
  }
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's path: a thin adapter that
 * authenticates the socket's key, then runs every operation through the same rules, context and
 * error formatting as HTTP. Subscriptions are served by the live feed, which executes a change once
 * per group of subscribers with the same rights and document.
 */
export function serveLive(options: LiveServerOptions): LiveServer {
  const { schema, services, db, bus } = options;
  const wss = new WebSocketServer({ server: options.httpServer, path: options.path, maxPayload: LIMITS.maxPayloadBytes });
  const socketsOfKey = new Map<string, Set<WebSocket>>();
  /** A socket's log scope, made when it first logs: its lines carry a `socketId` (request-scope.ts). */
  const socketScopes = new WeakMap<WebSocket, RequestScope>();
  const scopeOf = (socket: WebSocket, logger: Logger) => {
    let scope = socketScopes.get(socket);
    if (!scope) socketScopes.set(socket, (scope = { log: logger.child({ socketId: randomUUID() }) }));
    return scope;
  };
  const format = (error: GraphQLError, socket?: WebSocket) => {
    const coded = codeOf(error);
    if (socket && options.logger) tieToScope(coded, scopeOf(socket, options.logger));
    return options.formatError(coded.toJSON(), coded);
  };
  const formatResult = (result: ExecutionResult) =>
    result.errors ? { ...result, errors: result.errors.map((error) => format(error)) } : result;

  services.feed.start({
    schema,
    services,
    formatResult: formatResult as (result: ExecutionResult) => ExecutionResult,
    dropSlowConsumer: (socket) => socket.close(LiveCloseCode.SlowConsumer, `Slow consumer: over ${LIMITS.maxPendingEvents} events unsent`),
  });

  // Each socket's address, for the per-address limits (the upgrade request itself is not kept).
  const addresses = new WeakMap<WebSocket, string>();
  wss.on("connection", (socket, request) => addresses.set(socket, options.addressOf(request)));
  // 4429 rather than the 4403 graphql-ws sends after `false`: that second close finds the socket closing and is dropped.
  const refuse = (socket: WebSocket, reason: string) => void socket.close(LiveCloseCode.RateLimited, reason);
  /** The socket's caller under the HTTP rules (no key: the address's anonymous limit; a bad key: a failed authentication). */
  const authenticateSocket = async (socket: WebSocket, authorization: string | undefined): Promise<Caller | undefined> => {
    const { rateLimits } = options;
    const address = addresses.get(socket) ?? "unknown";
    if (!authorization?.trim()) {
      if (await rateLimits.forAnonymous(address, 1)) refuse(socket, "Too many sockets without an API key from this address");
      return undefined;
    }
    if (await rateLimits.failedAuthBlocked(address)) return void refuse(socket, "Too many failed authentications from this address");
    try {
      return await services.apiKeys.authenticate(authorization);
    } catch (error) {
      const overLimit = isRefusedKey(error) && (await rateLimits.failedAuthentication(address));
      if (overLimit) refuse(socket, "Too many failed authentications from this address");
      return undefined;
    }
  };

  const graphqlWs = attachGraphQLWs<LiveExtra>(
    wss,
    {
      connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.extra.authorization;
        // Read once; graphql-ws would keep both for the socket's life.
        ctx.extra.authorization = undefined;
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        const caller = await authenticateSocket(ctx.extra.socket, typeof authorization === "string" ? authorization : undefined);
        if (!caller) return false;
        const sockets = socketsOfKey.get(caller.keyId) ?? new Set();
        if (options.rateLimits.tooManySockets(sockets.size)) {
          refuse(ctx.extra.socket, `Too many sockets for this key (at most ${options.rateLimits.maxSocketsPerKey})`);
          return false;
        }
        ctx.extra.caller = caller;
        socketsOfKey.set(ctx.extra.caller.keyId, sockets.add(ctx.extra.socket));
        // An expired key is refused like a revoked one: its sockets close at its expiry.
        const { socket } = ctx.extra;
        ctx.extra.stopExpiry = whenExpired(ctx.extra.caller, () => socket.close(LiveCloseCode.Forbidden, "Forbidden: API key expired"));
        return true;
      },
      onClose: (ctx) => {
        const keyId = ctx.extra.caller?.keyId;
        ctx.extra.stopExpiry?.();
        if (keyId === undefined) return;
        socketsOfKey.get(keyId)?.delete(ctx.extra.socket);
        if (socketsOfKey.get(keyId)?.size === 0) socketsOfKey.delete(keyId);
      },
      onSubscribe: async (ctx, id, payload) => {
        if (Object.keys(ctx.subscriptions).length > LIMITS.maxOperationsPerSocket) {
          return [
            new GraphQLError(`At most ${LIMITS.maxOperationsPerSocket} operations may run at once on one socket`, {
              extensions: { code: "BAD_REQUEST" },
            }),
          ];
        }
        const prepared = prepareOperation(schema, payload, options.validationRules);
        // Every subscribe message spends the key's limit, as an HTTP request would (a refused document too);
        // over it, this operation fails and the socket stays open.
        const cost = "errors" in prepared ? 1 : documentCost(prepared.document);
        const refusal = await options.rateLimits.forKey(ctx.extra.caller!.keyId, cost);
        if (refusal) return [rateLimitedError(refusal)];
        if ("errors" in prepared) return prepared.errors;
        const live = {
          socket: ctx.extra.socket,
          id,
          document: prepared.document,
          query: payload.query,
          variables: payload.variables,
          operationName: payload.operationName,
        };
        // graphql-ws keeps the message for the subscription's life; the parsed document is shared.
        (payload as { query: string }).query = "";
        return {
          schema,
          document: prepared.document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue: new SocketContext(ctx.extra.caller!, services, db, live),
        };
      },
      // The feed writes a subscription's results to its socket itself: the source stream is all graphql-ws needs.
      subscribe: (args) => createSourceEventStream(args) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>,
      onNext: (ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => format(error, ctx.extra.socket)) } : result,
      onError: (ctx, _id, _payload, errors) => errors.map((error) => format(error, ctx.extra.socket)),
    },
    (socket, authorization) => ({ socket, authorization }),
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
      await services.feed.stop();
      await graphqlWs.dispose();
    },
  };
}
