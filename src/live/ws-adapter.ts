import type { IncomingMessage } from "node:http";
import type { ExecutionResult } from "graphql";
import { CloseCode, handleProtocols, makeServer, MessageType, stringifyMessage, type ServerOptions } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";
import { serializeError } from "../logging/serializers.js";
import type { LiveSocket, NextMessage } from "./live-socket.js";

/** What the transport gives graphql-ws about each socket: at least the socket, as the live core sees it. */
export interface SocketExtra {
  socket: LiveSocket;
}

export interface AttachedServer {
  dispose(): Promise<void>;
}

export type ConnectionParams = Record<string, unknown> | undefined;

/** The id an encoded `next` message is made with, then replaced by each subscription's (JSON escapes it; nothing else is encoded before it). */
const ID_SLOT = "\u0000";
const ID_SLOT_JSON = JSON.stringify(ID_SLOT);

/** `result` as graphql-ws's `next` message, encoded by graphql-ws once, for any subscription. */
export function encodeNext(result: ExecutionResult): NextMessage {
  const message = stringifyMessage<MessageType.Next>({ id: ID_SLOT, type: MessageType.Next, payload: result });
  // The id is the message's first field: its slot is the first match.
  const at = message.indexOf(ID_SLOT_JSON);
  const head = message.slice(0, at);
  const tail = message.slice(at + ID_SLOT_JSON.length);
  return (id) => head + JSON.stringify(id) + tail;
}

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

/**
 * A `ws` socket as graphql-ws's core and the live core see it: its methods on the prototype, and per
 * socket nothing but the socket and the average length of the messages it sent.
 */
class GraphQLWsSocket implements LiveSocket {
  /** A moving average (over about 8 messages): one short `complete` does not make the backlog look long. */
  private messageLength = 0;

  constructor(private readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  get isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** What the socket has not written out yet, in messages of the average length. */
  get unsentMessages(): number {
    return this.messageLength === 0 ? 0 : Math.ceil(this.socket.bufferedAmount / this.messageLength);
  }

  send(data: string): void {
    if (!this.isOpen) return;
    this.messageLength = this.messageLength === 0 ? data.length : this.messageLength + (data.length - this.messageLength) / 8;
    this.socket.send(data);
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

/** One timer for every socket: pings each, and ends those that did not answer the previous ping. */
function startHeartbeat(wss: WebSocketServer, keepAliveMs: number): NodeJS.Timeout {
  return setInterval(() => {
    for (const socket of wss.clients) {
      if (!answered.has(socket)) {
        socket.terminate();
        continue;
      }
      answered.delete(socket);
      socket.ping();
    }
  }, keepAliveMs);
}

/** Sockets yet to send `connection_init`, and until when they may: one sweep closes the late ones (4408, as graphql-ws would). */
class InitDeadlines {
  private readonly deadlines = new Map<LiveSocket, number>();
  private readonly timer = setInterval(() => this.sweep(), INIT_CHECK_MS);

  constructor(private readonly waitMs: number) {}

  add(socket: LiveSocket): void {
    this.deadlines.set(socket, Date.now() + this.waitMs);
  }

  done(socket: LiveSocket): void {
    this.deadlines.delete(socket);
  }

  stop(): void {
    clearInterval(this.timer);
    this.deadlines.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [socket, deadline] of this.deadlines) {
      if (deadline > now && socket.isOpen) continue;
      this.deadlines.delete(socket);
      if (socket.isOpen) socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
    }
  }
}

/**
 * graphql-ws on a `ws` server: graphql-ws's own adapter (graphql-ws/use/ws), made light per socket
 * for thousands of them. Timers and listeners are shared: one heartbeat, one sweep of sockets that
 * sent no `connection_init` in time, one pong, error and close listener for all. The upgrade request
 * is not kept; sends do not wait for their flush (the live core counts what is unsent).
 */
export function attachGraphQLWs<E extends SocketExtra>(
  wss: WebSocketServer,
  options: ServerOptions<ConnectionParams, E> & { connectionInitWaitTimeout: number },
  /** The socket's extra: what graphql-ws keeps of it for its life (the upgrade request itself is not kept). */
  extraOf: (socket: LiveSocket, request: IncomingMessage) => E,
  keepAliveMs: number,
): AttachedServer {
  const awaitingInit = new InitDeadlines(options.connectionInitWaitTimeout);
  const server = makeServer<ConnectionParams, E>({
    ...options,
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      awaitingInit.done(ctx.extra.socket);
      return options.onConnect?.(ctx);
    },
  });
  wss.options.handleProtocols = handleProtocols;
  const heartbeat = startHeartbeat(wss, keepAliveMs);

  wss.on("connection", (socket, request) => {
    // Called inside ws's upgrade callback, where a throw would end the process: this socket ends instead.
    try {
      answered.add(socket);
      socket.on("pong", markAnswered);
      socket.on("error", closeOnError);
      socket.on("close", whenClosed);
      const live = new GraphQLWsSocket(socket);
      awaitingInit.add(live);
      closers.set(socket, server.opened(live, extraOf(live, request)));
    } catch (err) {
      console.error("Internal error while opening a socket.", serializeError(err));
      socket.terminate();
    }
  });
  wss.on("close", () => awaitingInit.stop());

  return {
    async dispose() {
      clearInterval(heartbeat);
      awaitingInit.stop();
      for (const socket of wss.clients) socket.close(1001, "Going away");
      wss.removeAllListeners("connection");
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
