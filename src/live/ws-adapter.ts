import type { IncomingMessage } from "node:http";
import type { ExecutionResult } from "graphql";
import { CloseCode, handleProtocols, MessageType, stringifyMessage } from "graphql-ws";
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from "ws";
import { serializeError } from "../logging/serializers.js";
import type { LiveSocket, NextMessage } from "./live-socket.js";
import { Connection, type ProtocolServer } from "./protocol.js";

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

/**
 * A `ws` socket that carries its protocol connection and its heartbeat mark in fields of its own,
 * and whose listeners are its methods: every socket shares them, and they find what they need
 * through `this`, with no closure or table entry per socket.
 */
class ProtocolSocket extends WebSocket {
  connection: WsConnection<unknown> | undefined = undefined;
  /** Whether it answered the last ping. */
  answered = true;

  markAnswered(): void {
    this.answered = true;
  }

  whenClosed(): void {
    this.connection?.closed();
  }

  closeOnError(err: Error): void {
    console.error("Internal error emitted on a WebSocket socket. Please check your implementation.", serializeError(err));
    this.close(CloseCode.InternalServerError, "Internal server error");
  }

  whenMessage(data: RawData): void {
    this.connection?.receive(String(data)).catch((err: unknown) => {
      // Scrubbed like every logged error (log-serializers.ts): a database error's values never reach stderr.
      console.error("Internal error occurred during message handling. Please check your implementation.", serializeError(err));
      this.close(CloseCode.InternalServerError, "Internal server error");
    });
  }
}

/**
 * The protocol (protocol.ts) on a `ws` socket: per socket nothing but the socket, the average length
 * of the messages it sent and what the server keeps of it.
 */
class WsConnection<E> extends Connection<E> {
  /** A moving average (over about 8 messages): one short `complete` does not make the backlog look long. */
  private messageLength = 0;

  constructor(
    private readonly socket: WebSocket,
    server: ProtocolServer<E>,
    extra: E,
  ) {
    super(server, extra);
  }

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
}

/** One timer for every socket: pings each, and ends those that did not answer the previous ping. */
function startHeartbeat(sockets: Set<ProtocolSocket>, keepAliveMs: number): NodeJS.Timeout {
  return setInterval(() => {
    for (const socket of sockets) {
      if (!socket.answered) {
        socket.terminate();
        continue;
      }
      socket.answered = false;
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

export interface ProtocolServerHandle {
  /** Open sockets. */
  readonly sockets: number;
  dispose(): Promise<void>;
}

/**
 * The live protocol on a `ws` server, light per socket for thousands of them: one heartbeat, one sweep
 * of sockets that sent no `connection_init` in time, one pong, error, message and close listener for
 * all. The upgrade request is not kept; sends do not wait for their flush (the live core counts what
 * is unsent).
 */
export function serveProtocol<E>(
  options: Pick<ServerOptions, "server" | "path" | "maxPayload">,
  server: ProtocolServer<E>,
  /** What the server keeps of the socket for its life (the upgrade request itself is not kept). */
  extraOf: (request: IncomingMessage) => E,
  { initWaitMs, keepAliveMs }: { initWaitMs: number; keepAliveMs: number },
): ProtocolServerHandle {
  const wss = new WebSocketServer<typeof ProtocolSocket>({ ...options, WebSocket: ProtocolSocket, handleProtocols });
  const awaitingInit = new InitDeadlines(initWaitMs);
  const protocol: ProtocolServer<E> = {
    ...server,
    connect: (connection, params) => {
      awaitingInit.done(connection);
      return server.connect(connection, params);
    },
  };
  const heartbeat = startHeartbeat(wss.clients, keepAliveMs);

  wss.on("connection", (socket, request) => {
    // Called inside ws's upgrade callback, where a throw would end the process: this socket ends instead.
    try {
      socket.on("pong", socket.markAnswered);
      socket.on("error", socket.closeOnError);
      socket.on("close", socket.whenClosed);
      socket.on("message", socket.whenMessage);
      const connection = new WsConnection(socket, protocol, extraOf(request));
      socket.connection = connection as WsConnection<unknown>;
      awaitingInit.add(connection);
      connection.opened();
    } catch (err) {
      console.error("Internal error while opening a socket.", serializeError(err));
      socket.terminate();
    }
  });
  wss.on("close", () => awaitingInit.stop());

  return {
    get sockets() {
      return wss.clients.size;
    },
    async dispose() {
      clearInterval(heartbeat);
      awaitingInit.stop();
      for (const socket of wss.clients) socket.close(1001, "Going away");
      wss.removeAllListeners("connection");
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
