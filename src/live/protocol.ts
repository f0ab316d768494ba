import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from "graphql";
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType, parseMessage, stringifyMessage, type SubscribePayload } from "graphql-ws";
import type { LiveSocket } from "./live-socket.js";

/** What a server does at each step of the protocol: one object for all its connections. */
export interface ProtocolServer<E> {
  /** `connection_init`: whether the socket may go on (false: refused; the server may have closed it with its own code). */
  connect(connection: Connection<E>, params: Record<string, unknown> | undefined): Promise<boolean>;
  /** A `subscribe` message: the operation's execution arguments, or the errors it is refused with. */
  prepare(connection: Connection<E>, id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]>;
  /** Errors as the client gets them: formatted (and logged) as over HTTP. */
  formatErrors(connection: Connection<E>, errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /** The socket has closed; its subscriptions have been returned. */
  closed(connection: Connection<E>): void;
}

/** A subscription held until the client completes it or the socket closes (the fan-out sends its results). */
interface HeldSubscription {
  return(): unknown;
}

/**
 * A socket's operations by id: null while being prepared or executed, a subscription once it runs.
 * Almost every socket runs one at a time, so the first lives in two fields, and a Map (some 180
 * bytes) is made only for a second.
 */
class Operations {
  // Each field set here, so that it lives inside the object rather than in a properties array added later.
  private firstId: string | undefined = undefined;
  private first: HeldSubscription | null = null;
  private more: Map<string, HeldSubscription | null> | undefined = undefined;

  get size(): number {
    return (this.firstId === undefined ? 0 : 1) + (this.more?.size ?? 0);
  }

  has(id: string): boolean {
    return this.firstId === id || (this.more?.has(id) ?? false);
  }

  get(id: string): HeldSubscription | null | undefined {
    return this.firstId === id ? this.first : this.more?.get(id);
  }

  set(id: string, operation: HeldSubscription | null): void {
    if (this.firstId === id || (this.firstId === undefined && !this.more?.has(id))) {
      this.firstId = id;
      this.first = operation;
    } else (this.more ??= new Map()).set(id, operation);
  }

  delete(id: string): boolean {
    if (this.firstId !== id) return this.more?.delete(id) ?? false;
    this.firstId = undefined;
    this.first = null;
    return true;
  }

  /** Removes every operation; returns the subscriptions among them. */
  clear(): HeldSubscription[] {
    const held = [this.first, ...(this.more?.values() ?? [])].filter((operation) => operation !== null);
    this.firstId = undefined;
    this.first = null;
    this.more = undefined;
    return held;
  }
}

enum Stage {
  AwaitingInit,
  Initialising,
  Acknowledged,
}

const isAsyncIterable = (value: object): value is AsyncIterable<unknown> => Symbol.asyncIterator in value;

/**
 * graphql-transport-ws on one socket, as graphql-ws's own server speaks it (its messages, its
 * checks, its close codes, each message encoded by graphql-ws), without a suspended loop, closures
 * or promises per subscription: a subscription is an entry in `operations`, and the live fan-out
 * sends its results. Thousands of sockets each hold this one object beside the transport's own
 * (graphql-ws's server held some 2 KiB more per subscribed socket). Transport-neutral: an adapter
 * (ws-adapter.ts) supplies what the socket is and does (protocol, open, unsent, send, close).
 */
export abstract class Connection<E> implements LiveSocket {
  private stage = Stage.AwaitingInit;
  private readonly operations = new Operations();

  constructor(
    private readonly server: ProtocolServer<E>,
    /** What the server keeps of the socket. */
    readonly extra: E,
  ) {}

  abstract readonly protocol: string;
  abstract readonly isOpen: boolean;
  abstract readonly unsentMessages: number;
  abstract send(message: string): void;
  abstract close(code: number, reason: string): void;

  /** Operations running or subscribed on this socket. */
  get operationCount(): number {
    return this.operations.size;
  }

  /** Refuses a socket that did not agree on the protocol; call once it is open. */
  opened(): void {
    if (this.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) this.close(CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable");
  }

  /** One message from the client. */
  async receive(data: string): Promise<void> {
    let message: ReturnType<typeof parseMessage>;
    try {
      message = parseMessage(data);
    } catch {
      return this.close(CloseCode.BadRequest, "Invalid message received");
    }
    switch (message.type) {
      case MessageType.ConnectionInit:
        return this.initialise(message.payload);
      case MessageType.Ping:
        return this.send(
          stringifyMessage(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong }),
        );
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        return this.subscribe(message.id, message.payload);
      case MessageType.Complete:
        return this.complete(message.id);
      default:
        throw new Error(`Unexpected message of type ${message.type} received`);
    }
  }

  /** The socket has closed: every subscription is returned (leaving its group), then the server is told. */
  closed(): void {
    for (const subscription of this.operations.clear()) subscription.return();
    this.server.closed(this);
  }

  /** Ends a subscription from the server's side: the client gets the error; the socket stays open. */
  fail(id: string, error: GraphQLError): void {
    this.error(id, [error]);
    this.operations.delete(id);
  }

  private async initialise(payload: unknown): Promise<void> {
    if (this.stage !== Stage.AwaitingInit) return this.close(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
    this.stage = Stage.Initialising;
    const params = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
    if (!(await this.server.connect(this, params))) return this.close(CloseCode.Forbidden, "Forbidden");
    this.stage = Stage.Acknowledged;
    this.send(stringifyMessage({ type: MessageType.ConnectionAck }));
  }

  private async subscribe(id: string, payload: SubscribePayload): Promise<void> {
    if (this.stage !== Stage.Acknowledged) return this.close(CloseCode.Unauthorized, "Unauthorized");
    if (this.operations.has(id)) return this.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    this.operations.set(id, null);
    let held = false;
    try {
      const prepared = await this.server.prepare(this, id, payload);
      if (Array.isArray(prepared)) return this.error(id, prepared);
      const args = prepared as ExecutionArgs;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return this.error(id, [new GraphQLError("Unable to identify operation")]);
      const result: ExecutionResult | AsyncIterable<unknown> =
        operation.operation === "subscription" ? await createSourceEventStream(args) : await execute(args);
      if (isAsyncIterable(result)) {
        // A source stream is an async generator or iterator: it can be returned.
        const subscription = result as AsyncIterable<unknown> & HeldSubscription;
        // Completed (or closed) while it was being set up: it ends at once.
        if (!this.operations.has(id)) return void subscription.return();
        this.operations.set(id, subscription);
        held = true;
        return;
      }
      this.next(id, result);
      if (this.operations.has(id)) this.send(stringifyMessage({ id, type: MessageType.Complete }));
    } finally {
      if (!held) this.operations.delete(id);
    }
  }

  private complete(id: string): void {
    const operation = this.operations.get(id);
    this.operations.delete(id);
    operation?.return();
  }

  private next(id: string, result: ExecutionResult): void {
    if (!this.operations.has(id)) return;
    const payload = result.errors ? { ...result, errors: this.server.formatErrors(this, result.errors) } : result;
    this.send(stringifyMessage({ id, type: MessageType.Next, payload }));
  }

  private error(id: string, errors: readonly GraphQLError[]): void {
    if (!this.operations.has(id)) return;
    this.send(stringifyMessage({ id, type: MessageType.Error, payload: this.server.formatErrors(this, errors) }));
  }
}
