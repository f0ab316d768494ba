import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";

/** What the transport gives graphql-ws about each socket: the socket, and its Authorization header if any. */
export interface SocketExtra {
  socket: WebSocket;
  /** The upgrade request's Authorization header; the request itself is not kept. */
  authorization: string | undefined;
}

export interface AttachedServer {
  dispose(): Promise<void>;
}

/** A socket that answered the last ping. Set by the shared 'pong' listener (`this` is the socket). */
const answered = new WeakSet<WebSocket>();
function markAnswered(this: WebSocket): void {
  answered.add(this);
}

function closeOnError(this: WebSocket, err: Error): void {
  console.error("Internal error emitted on a WebSocket socket. Please check your implementation.", err);
  this.close(CloseCode.InternalServerError, "Internal server error");
}

/** What graphql-ws's core sees of a `ws` socket (its methods on the prototype: nothing per socket but the object). */
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
      console.error("Internal error occurred during message handling. Please check your implementation.", err);
      socket.close(CloseCode.InternalServerError, "Internal server error");
    };
    // Not an async function: a subscription's handling lasts as long as the subscription, and an
    // awaiting wrapper would hold a suspended frame for each.
    socket.on("message", (data) => void handle(String(data)).catch(failed));
  }
}

/**
 * graphql-ws on a `ws` server: graphql-ws's own adapter (graphql-ws/use/ws), made lighter per socket
 * for thousands of them. One heartbeat pings every socket and ends those that did not answer the
 * previous ping (instead of two timers per socket); the upgrade request is not kept for the socket's
 * life; sends do not wait for their flush.
 */
export function attachGraphQLWs<E extends SocketExtra>(
  wss: WebSocketServer,
  options: ServerOptions<Record<string, unknown> | undefined, E>,
  extraOf: (socket: WebSocket, authorization: string | undefined) => E,
  keepAliveMs: number,
): AttachedServer {
  const server = makeServer(options);
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

  wss.on("connection", (socket, request) => {
    answered.add(socket);
    socket.on("pong", markAnswered);
    socket.once("error", closeOnError);
    const closed = server.opened(new GraphQLWsSocket(socket), extraOf(socket, request.headers.authorization));
    socket.once("close", (code, reason) => void closed(code, String(reason)));
  });

  return {
    async dispose() {
      clearInterval(heartbeat);
      for (const socket of wss.clients) socket.close(1001, "Going away");
      wss.removeAllListeners("connection");
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
