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
import { keyHashOf } from "../auth/api-key.service.js";
import type { Caller } from "../auth/caller.js";
import type { RequestContext, Services } from "../graphql/context.js";
import { ErrorCode } from "../graphql/error-codes.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import { prepareOperation } from "../graphql/operation.js";
import { tieToScope, type RequestScope } from "../graphql/request-scope.js";
import { documentCost } from "../rate-limits/cost.js";
import { isRefusedKey, rateLimitedError, type RateLimits } from "../rate-limits/rate-limits.js";
import type { LiveBus } from "./pubsub.js";
import { KeyWatch, type KeyEnd } from "./key-watch.js";
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
  /** The key could not be checked at `connection_init` (the database did not answer): reconnect shortly (WebSocket's own 1013). */
  TryAgainLater = 1013,
}

/** How long a new socket may wait before `connection_init`; how often the server pings. */
export const CONNECTION_INIT_WAIT_MS = 3000;
export const KEEP_ALIVE_MS = 12_000;

interface LiveExtra extends SocketExtra {
  caller?: Caller;
  /** The hash of the socket's key (never the key), to check it again before every operation. */
  keyHash?: string;
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
  const keys = new KeyWatch(
    services.apiKeys,
    bus,
    (socket: WebSocket, why: KeyEnd) => socket.close(LiveCloseCode.Forbidden, `Forbidden: API key ${why}`),
    options.logger,
  );
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
  const authenticateSocket = async (
    socket: WebSocket,
    authorization: string | undefined,
  ): Promise<{ caller: Caller; keyHash: string } | undefined> => {
    const { rateLimits } = options;
    const address = addresses.get(socket) ?? "unknown";
    if (!authorization?.trim()) {
      if (await rateLimits.forAnonymous(address, 1)) refuse(socket, "Too many sockets without an API key from this address");
      return undefined;
    }
    if (await rateLimits.failedAuthBlocked(address)) return void refuse(socket, "Too many failed authentications from this address");
    try {
      const keyHash = keyHashOf(authorization);
      return { caller: await services.apiKeys.authenticateHash(keyHash), keyHash };
    } catch (error) {
      if (!isRefusedKey(error)) {
        // The key could not be checked (the database did not answer): not a refusal, the client tries again.
        socket.close(LiveCloseCode.TryAgainLater, "Try again later: the API key could not be checked");
        return undefined;
      }
      if (await rateLimits.failedAuthentication(address)) refuse(socket, "Too many failed authentications from this address");
      return undefined;
    }
  };

  /** Undefined while the socket's key is valid; else the refusal, and the socket is closing with 4403. */
  const checkKeyAgain = async (extra: LiveExtra): Promise<GraphQLError | undefined> => {
    try {
      await services.apiKeys.authenticateHash(extra.keyHash!);
      return undefined;
    } catch (error) {
      if (isRefusedKey(error)) extra.socket.close(LiveCloseCode.Forbidden, "Forbidden: API key revoked");
      // A database that failed to answer: this operation fails (masked and logged), the socket stays.
      return error instanceof GraphQLError ? error : new GraphQLError("could not check the API key", { originalError: error as Error });
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
        const authenticated = await authenticateSocket(ctx.extra.socket, typeof authorization === "string" ? authorization : undefined);
        if (!authenticated) return false;
        const { caller, keyHash } = authenticated;
        if (options.rateLimits.tooManySockets(keys.count(caller.keyId))) {
          refuse(ctx.extra.socket, `Too many sockets for this key (at most ${options.rateLimits.maxSocketsPerKey})`);
          return false;
        }
        Object.assign(ctx.extra, { caller, keyHash });
        // Revoked or expired from now on, the key closes the socket (key-watch.ts).
        keys.add(caller, ctx.extra.socket);
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.caller) keys.remove(ctx.extra.caller.keyId, ctx.extra.socket);
      },
      onSubscribe: async (ctx, id, payload) => {
        // Counted before anything is awaited: graphql-ws registers each operation as its message arrives.
        if (Object.keys(ctx.subscriptions).length > LIMITS.maxOperationsPerSocket) {
          return [
            new GraphQLError(`At most ${LIMITS.maxOperationsPerSocket} operations may run at once on one socket`, {
              extensions: { code: "BAD_REQUEST" },
            }),
          ];
        }
        // The key as it is now, not as it was at connect: through the cache HTTP uses, so refused as soon as HTTP refuses it.
        const refused = await checkKeyAgain(ctx.extra);
        if (refused) return [refused];
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
          spend: (units: number) => options.rateLimits.forKey(ctx.extra.caller!.keyId, units),
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

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      await keys.close();
      await services.feed.stop();
      await graphqlWs.dispose();
    },
  };
}
