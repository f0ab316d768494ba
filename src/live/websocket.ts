import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Logger } from "pino";
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from "graphql";
import type { SubscribePayload } from "graphql-ws";
import type { DataSource } from "typeorm";
import { keyHashOf, type ApiKeyService } from "../auth/index.js";
import type { Caller } from "../graphql/caller.js";
import type { RequestContext, ResolverInstances } from "../graphql/context.js";
import { ErrorCode } from "../graphql/error-codes.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import { prepareOperation } from "../graphql/operation.js";
import { tieToScope, type RequestScope } from "../graphql/request-scope.js";
import { documentCost } from "../rate-limits/index.js";
import { isRefusedKey, rateLimitedError, type RateLimits } from "../rate-limits/index.js";
import type { LiveBus } from "./pubsub.js";
import { KeyWatch, type KeyEnd } from "./key-watch.js";
import { LiveCloseCode } from "./close-codes.js";
import type { LiveRequest } from "./live-request.js";
import type { LiveSocket } from "./live-socket.js";
import type { LiveFanOut } from "./fan-out.js";
import type { ChangeStream } from "./change-stream.js";
import type { Connection, ProtocolServer } from "./protocol.js";
import { encodeNext, serveProtocol } from "./ws-adapter.js";

/** How long a new socket may wait before `connection_init`; how often the server pings. */
export const CONNECTION_INIT_WAIT_MS = 3000;
export const KEEP_ALIVE_MS = 12_000;

/** What the live server keeps of a socket: until `connection_init`, what the upgrade request said; then its caller. */
interface LiveExtra {
  /** The upgrade request's Authorization header. */
  authorization: string | undefined;
  /** The client's address, for the per-address limits at `connection_init`. */
  address: string | undefined;
  caller?: Caller;
}

export interface LiveServerOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  /** The server's resolvers, for the operations' contexts. */
  resolvers: ResolverInstances;
  apiKeys: ApiKeyService;
  fanOut: LiveFanOut;
  changeStream: ChangeStream;
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
    readonly resolvers: ResolverInstances,
    private readonly db: DataSource,
    public live: LiveRequest | undefined,
  ) {}

  get loaders(): Loaders {
    return (this.made ??= createLoaders(this.db));
  }
}

/** Formats errors as HTTP does, each socket's unexpected errors logged with its own `socketId` (request-scope.ts). */
function errorFormatting(options: LiveServerOptions) {
  const socketScopes = new WeakMap<LiveSocket, RequestScope>();
  const scopeOf = (socket: LiveSocket, logger: Logger) => {
    let scope = socketScopes.get(socket);
    if (!scope) socketScopes.set(socket, (scope = { log: logger.child({ socketId: randomUUID() }) }));
    return scope;
  };
  const format = (error: GraphQLError, socket?: LiveSocket) => {
    const coded = codeOf(error);
    if (socket && options.logger) tieToScope(coded, scopeOf(socket, options.logger));
    return options.formatError(coded.toJSON(), coded);
  };
  const formatResult = (result: ExecutionResult) =>
    result.errors ? { ...result, errors: result.errors.map((error) => format(error)) } : result;
  return { format, formatResult: formatResult as (result: ExecutionResult) => ExecutionResult };
}

// 4429 rather than the 4403 graphql-ws sends after `false`: that second close finds the socket closing and is dropped.
const refuse = (socket: LiveSocket, reason: string) => void socket.close(LiveCloseCode.RateLimited, reason);

/** The socket's caller under the HTTP rules (no key: the address's anonymous limit; a bad key: a failed authentication). */
async function authenticateSocket(
  { rateLimits, apiKeys }: LiveServerOptions,
  socket: LiveSocket,
  address: string,
  authorization: string | undefined,
): Promise<{ caller: Caller; keyHash: string } | undefined> {
  if (!authorization?.trim()) {
    if (await rateLimits.forAnonymous(address, 1)) refuse(socket, "Too many sockets without an API key from this address");
    return undefined;
  }
  if (await rateLimits.failedAuthBlocked(address)) return void refuse(socket, "Too many failed authentications from this address");
  try {
    const keyHash = keyHashOf(authorization);
    return { caller: await apiKeys.authenticateHash(keyHash), keyHash };
  } catch (error) {
    if (!isRefusedKey(error)) {
      // The key could not be checked (the database did not answer): not a refusal, the client tries again.
      socket.close(LiveCloseCode.TryAgainLater, "Try again later: the API key could not be checked");
      return undefined;
    }
    if (await rateLimits.failedAuthentication(address)) refuse(socket, "Too many failed authentications from this address");
    return undefined;
  }
}

/** Undefined while the socket's key is valid; else the refusal, and the socket is closing with 4403. */
async function checkKeyAgain(apiKeys: ApiKeyService, keys: KeyWatch, connection: LiveConnection): Promise<GraphQLError | undefined> {
  try {
    await apiKeys.authenticateHash(keys.hashOf(connection.extra.caller!.keyId));
    return undefined;
  } catch (error) {
    if (isRefusedKey(error)) connection.close(LiveCloseCode.Forbidden, "Forbidden: API key revoked");
    // A database that failed to answer: this operation fails (masked and logged), the socket stays.
    return error instanceof GraphQLError ? error : new GraphQLError("could not check the API key", { originalError: error as Error });
  }
}

type LiveConnection = Connection<LiveExtra>;

/** `connection_init`: the socket's key under the HTTP rules, then the key's socket cap; the key is watched from then on. */
function connecting(options: LiveServerOptions, keys: KeyWatch) {
  return async (connection: LiveConnection, params: Record<string, unknown> | undefined): Promise<boolean> => {
    const { extra } = connection;
    const authorization = params?.authorization ?? extra.authorization;
    const address = extra.address!;
    // Read once: not kept for the socket's life.
    extra.authorization = extra.address = undefined;
    const given = typeof authorization === "string" ? authorization : undefined;
    const authenticated = await authenticateSocket(options, connection, address, given);
    // Closed while its key was checked: it has been told goodbye already, and must hold no place under its key.
    if (!authenticated || !connection.isOpen) return false;
    const { caller, keyHash } = authenticated;
    if (options.rateLimits.tooManySockets(keys.count(caller.keyId))) {
      refuse(connection, `Too many sockets for this key (at most ${options.rateLimits.maxSocketsPerKey})`);
      return false;
    }
    extra.caller = caller;
    // Revoked or expired from now on, the key closes the socket (key-watch.ts).
    keys.add(caller, keyHash, connection);
    return true;
  };
}

/**
 * A subscribe message under the HTTP rules: the key as it is now, the document's validation and
 * limits, its cost spent from the key's limit; then the operation with the socket's context.
 */
function subscribing(options: LiveServerOptions, keys: KeyWatch) {
  const { schema, resolvers, fanOut, changeStream, db, rateLimits } = options;
  return async (connection: LiveConnection, id: string, payload: SubscribePayload) => {
    // Counted before anything is awaited: each operation is registered as its message arrives.
    if (connection.operationCount > LIMITS.maxOperationsPerSocket) {
      return [
        new GraphQLError(`At most ${LIMITS.maxOperationsPerSocket} operations may run at once on one socket`, {
          extensions: { code: "BAD_REQUEST" },
        }),
      ];
    }
    // The key as it is now, not as it was at connect: through the cache HTTP uses, so refused as soon as HTTP refuses it.
    const refused = await checkKeyAgain(options.apiKeys, keys, connection);
    if (refused) return [refused];
    const prepared = prepareOperation(schema, payload, options.validationRules);
    // Every subscribe message spends the key's limit, as an HTTP request would (a refused document too);
    // over it, this operation fails and the socket stays open.
    const caller = connection.extra.caller!;
    const refusal = await rateLimits.forKey(caller.keyId, "errors" in prepared ? 1 : documentCost(prepared.document));
    if (refusal) return [rateLimitedError(refusal)];
    if ("errors" in prepared) return prepared.errors;
    const { query, variables, operationName } = payload;
    const live: LiveRequest = {
      socket: connection,
      id,
      document: prepared.document,
      query,
      variables,
      operationName,
      spend: (units) => rateLimits.forKey(caller.keyId, units),
      subscribe: (kind, after) => (kind === "changed" ? changeStream.follow(caller, live, after) : fanOut.subscribe(caller, kind, live)),
    };
    const contextValue = new SocketContext(caller, resolvers, db, live);
    return { schema, document: prepared.document, variableValues: variables, operationName, contextValue };
  };
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's path: a thin adapter that
 * authenticates the socket's key, then runs every operation through the same rules, context and
 * error formatting as HTTP. Subscriptions are served by the live fan-out (fan-out.ts), which executes a change once
 * per group of subscribers with the same rights and document.
 */
export function serveLive(options: LiveServerOptions): LiveServer {
  const { fanOut, bus } = options;
  const keys = new KeyWatch(
    options.apiKeys,
    bus,
    (socket: LiveSocket, why: KeyEnd) => socket.close(LiveCloseCode.Forbidden, `Forbidden: API key ${why}`),
    options.logger,
  );
  const { format, formatResult } = errorFormatting(options);
  fanOut.start({ schema: options.schema, resolvers: options.resolvers, formatResult, encodeNext });
  const server: ProtocolServer<LiveExtra> = {
    connect: connecting(options, keys),
    prepare: subscribing(options, keys),
    formatErrors: (connection, errors) => errors.map((error) => format(error, connection)),
    closed: (connection) => {
      if (connection.extra.caller) keys.remove(connection.extra.caller.keyId, connection);
    },
  };
  const attached = serveProtocol(
    { server: options.httpServer, path: options.path, maxPayload: LIMITS.maxPayloadBytes },
    server,
    // Every field from the start: the object keeps them inside, with no properties array added at connect.
    (request) => ({ authorization: request.headers.authorization, address: options.addressOf(request), caller: undefined }),
    { initWaitMs: CONNECTION_INIT_WAIT_MS, keepAliveMs: KEEP_ALIVE_MS },
  );

  return {
    get sockets() {
      return attached.sockets;
    },
    async close() {
      await keys.close();
      await attached.dispose();
    },
  };
}
