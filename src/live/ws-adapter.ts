import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";
import { serializeError } from "../logging/serializers.js";

/** What the transport gives graphql-ws about each socket: the socket, and its Authorization header if any. */
export interface SocketExtra {
  socket: WebSocket;
  /** The upgrade request's Authorization header (the request itself is not kept); cleared once read. */
  authorization: string | undefined;
}

export interface AttachedServer {
  dispose(): Promise<void>;
}

export type ConnectionParams = Record<string, unknown> | undefined;

/** How often sockets that have not sent `connection_init` are looked at. */
const INIT_CHECK_MS = 250;

/** Sockets that answered the last ping; set by the one 'pong' listener all sockets share (`this` is the socket). */
const answered = new WeakSet<WebSocket>();
function markAnswered(this: WebSocket): void {
  answered.add(this);
}

/** graphql-ws's end of each socket, for the one 'close' listener all sockets share. */
const closers = new WeakMap<WebSocket, (code: number, reason: string) => Promise<void>>();
function whenClosed(this: WebSocket, code: number, reason: Buffer): void {
  closers
    .get(this)?.(code, String(reason))
    .catch((err: unknown) => console.error("Internal error while closing a socket.", serializeError(err)));
}

function closeOnError(this: WebSocket, err: Error): void {
  console.error("Internal error emitted on a WebSocket socket. Please check your implementation.", serializeError(err));
  this.close(CloseCode.InternalServerError, "Internal server error");
}

/** What graphql-ws's core sees of a `ws` socket: its methods on the prototype, nothing per socket but the object. */
class GraphQLWsSocket {
  constructor(private readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    const socket = this.socket;
    const failed = (err: unknown) => {
      // Scrubbed like every logged error (log-serializers.ts): a database error's values never reach stderr.
      console.error("Internal error occurred during message handling. Please check your implementation.", serializeError(err));
      socket.close(CloseCode.InternalServerError, "Internal server error");
    };
    // Not an async function: a subscription's handling lasts as long as the subscription, and an
    // awaiting wrapper would hold a suspended frame for each.
    socket.on("message", (data) => void handle(String(data)).catch(failed));
  }
}

/**
 * graphql-ws on a `ws` server: graphql-ws's own adapter (graphql-ws/use/ws), made light per socket
 * for thousands of them. Timers and listeners are shared: one heartbeat pings every socket and ends
 * those that did not answer the previous ping; one sweep closes sockets that sent no
 * `connection_init` in time (4408, as graphql-ws would); sockets share their pong, error and close
 * listeners. The upgrade request is not kept; sends do not wait for their flush.
 */
export function attachGraphQLWs<E extends SocketExtra>(
  wss: WebSocketServer,
  options: ServerOptions<ConnectionParams, E> & { connectionInitWaitTimeout: number },
  extraOf: (socket: WebSocket, authorization: string | undefined) => E,
  keepAliveMs: number,
): AttachedServer {
  /** Sockets yet to send `connection_init`, and until when they may. */
  const awaitingInit = new Map<WebSocket, number>();
  const server = makeServer<ConnectionParams, E>({
    ...options,
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      awaitingInit.delete(ctx.extra.socket);
      return options.onConnect?.(ctx);
    },
  });
  wss.options.handleProtocols = handleProtocols;

  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if (!answered.has(socket)) {
        socket.terminate();
        continue;
      }
      answered.delete(socket);
      socket.ping();
    }
  }, keepAliveMs);
  const initChecks = setInterval(() => {
    const now = Date.now();
    for (const [socket, deadline] of awaitingInit) {
      if (deadline > now && socket.readyState === socket.OPEN) continue;
      awaitingInit.delete(socket);
      if (socket.readyState === socket.OPEN) socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
    }
  }, INIT_CHECK_MS);

  wss.on("connection", (socket, request) => {
    // Called inside ws's upgrade callback, where a throw would end the process: this socket ends instead.
    try {
      answered.add(socket);
      awaitingInit.set(socket, Date.now() + options.connectionInitWaitTimeout);
      socket.on("pong", markAnswered);
      socket.on("error", closeOnError);
      socket.on("close", whenClosed);
      closers.set(socket, server.opened(new GraphQLWsSocket(socket), extraOf(socket, request.headers.authorization)));
    } catch (err) {
      console.error("Internal error while opening a socket.", serializeError(err));
      socket.terminate();
    }
  });
  wss.on("close", () => awaitingInit.clear());

  return {
    async dispose() {
      clearInterval(heartbeat);
      clearInterval(initChecks);
      for (const socket of wss.clients) socket.close(1001, "Going away");
      wss.removeAllListeners("connection");
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
