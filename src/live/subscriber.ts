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
 * One subscription on a socket, and the iterator graphql-ws holds for it. Its results are encoded by
 * graphql-ws once for the whole group and written to the socket by the fan-out (each subscriber of a
 * group of 5,000 would otherwise pay for serialising the same result: fan-out.ts), so it yields
 * nothing itself. It leaves its group when graphql-ws returns it (the client completed, or the socket
 * closed), or when the server ends it with an error (`end`), which graphql-ws then sends as the
 * operation's `error`.
 */
export class Subscriber implements AsyncIterableIterator<never> {
  /** Changes up to this position are not sent (they were, or they precede the subscription's `after`). */
  floor: Position | undefined;
  /** Live changes held back while the subscriber replays what it missed; undefined once it is live. */
  held: { position: Position; next: NextMessage }[] | undefined;
  left = false;
  /** Rejects the wait graphql-ws holds on `next`. */
  private fail: ((error: Error) => void) | undefined;

  constructor(
    readonly socket: LiveSocket,
    /** The subscription's id on its socket. */
    readonly id: string,
    readonly group: Group,
    /** The fan-out's (one function for all subscribers). */
    private readonly leave: (group: Group, subscriber: Subscriber) => void,
  ) {}

  /** Settles only when the server ends the subscription; once returned, nothing refers to the wait any more. */
  next(): Promise<IteratorResult<never>> {
    return new Promise((_, reject) => (this.fail = reject));
  }

  /** Ends the subscription with `error` (the socket stays open): it leaves its group, and graphql-ws sends the error. */
  end(error: Error): void {
    if (this.left) return;
    this.left = true;
    this.leave(this.group, this);
    this.fail?.(error);
  }

  async return(): Promise<IteratorResult<never>> {
    this.left = true;
    this.leave(this.group, this);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
