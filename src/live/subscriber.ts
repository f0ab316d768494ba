import type { GraphQLError } from "graphql";
import type { Position } from "../change-feed/index.js";
import type { Caller } from "../graphql/caller.js";
import type { LiveKind, LiveRequest } from "./live-request.js";
import type { LiveSocket, NextMessage } from "./live-socket.js";

/** Subscribers with the same rights (role and partner) and the same document, variables and operation. */
export interface Group {
  key: string;
  kind: LiveKind;
  scope: string | undefined;
  caller: Caller;
  request: LiveRequest;
  subscribers: Set<Subscriber>;
}

/**
 * One subscription on a socket. Its results are encoded by graphql-ws once for the whole group and
 * written to the socket by the fan-out (each subscriber of a group of 5,000 would otherwise pay for
 * serialising the same result: fan-out.ts). It is an async iterable only because graphql-js wants a
 * subscription's source stream to be one: nothing iterates it, and it holds no pending promise. It
 * leaves its group when it is returned (the client completed, or the socket closed), or when the
 * server ends it with an error (`end`), which the socket then sends as the operation's `error`.
 */
export class Subscriber implements AsyncIterableIterator<never> {
  /** Changes up to this position are not sent (they were, or they precede the subscription's `after`). */
  floor: Position | undefined;
  /** Live changes held back while the subscriber replays what it missed; undefined once it is live. */
  held: { position: Position; next: NextMessage }[] | undefined;
  left = false;

  constructor(
    readonly socket: LiveSocket,
    /** The subscription's id on its socket. */
    readonly id: string,
    readonly group: Group,
    /** The fan-out's (one function for all subscribers). */
    private readonly leave: (group: Group, subscriber: Subscriber) => void,
  ) {}

  next(): Promise<IteratorResult<never>> {
    return Promise.reject(new Error("a live subscription is sent by the fan-out, not iterated"));
  }

  /** Ends the subscription with `error` (the socket stays open): it leaves its group, and the socket sends the error. */
  end(error: GraphQLError): void {
    if (this.left) return;
    this.quit();
    this.socket.fail(this.id, error);
  }

  async return(): Promise<IteratorResult<never>> {
    this.quit();
    return { done: true, value: undefined };
  }

  private quit(): void {
    this.left = true;
    this.leave(this.group, this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
