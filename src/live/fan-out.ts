import { execute, type ExecutionResult, type GraphQLSchema } from "graphql";
import type { Repeater } from "@graphql-yoga/subscription";
import type { DataSource } from "typeorm";
import type { WebSocket } from "ws";
import { partnerScope, type Caller } from "../graphql/caller.js";
import type { RequestContext, ResolverInstances } from "../graphql/context.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders } from "../graphql/loaders.js";
import type { Transition } from "../referrals/record-transitions.js";
import { ReferralAction } from "../referrals/lifecycle.js";
import { Referral } from "../referrals/referral.entity.js";
import type { LiveBus, ReferralChangeMessage } from "./pubsub.js";
import type { LiveKind, LiveRequest } from "./live-request.js";
import type { ReferralChange } from "../change-feed/change-feed.types.js";
import { comparePositions, type Position } from "../change-feed/position.js";
import type { Loaders } from "../graphql/loaders.js";

/** One change as a subscriber's document resolves it: the referral as the change left it. */
export interface LiveReferralEvent {
  referral: Referral;
}

/** How the feed executes a document for a group and shapes its result: as every other operation is. */
export interface FanOutExecution {
  schema: GraphQLSchema;
  resolvers: ResolverInstances;
  /** Formats the result's errors as the error formatter does for any operation (masking unexpected ones). */
  formatResult(result: ExecutionResult): ExecutionResult;
  /** Gives up on a socket that does not read its events. */
  dropSlowConsumer(socket: WebSocket): void;
}

/**
 * One subscription on a socket, and the iterator graphql-ws holds for it: it yields nothing (the
 * feed writes the results to the socket itself) and leaves its group when returned, or when the
 * server ends it with an error (`end`), which graphql-ws then sends as the operation's `error`.
 */
export class Subscriber implements AsyncIterableIterator<never> {
  /** Changes up to this position are not sent (they were, or they precede the subscription's `after`). */
  floor: Position | undefined;
  /** Live changes held back while the subscriber replays what it missed; undefined once it is live. */
  held: { position: Position; message: string }[] | undefined;
  left = false;
  /** Rejects the wait graphql-ws holds on `next`. */
  private fail: ((error: Error) => void) | undefined;

  constructor(
    readonly socket: WebSocket,
    /** `{"id":…,"type":"next","payload":` for this subscription: the shared payload and `}` complete it. */
    readonly prefix: string,
    readonly group: Group,
    /** The feed's (one function for all subscribers). */
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

/** Subscribers with the same rights (role and partner) and the same document, variables and operation. */
export interface Group {
  key: string;
  kind: LiveKind;
  scope: string | undefined;
  caller: Caller;
  request: LiveRequest;
  subscribers: Set<Subscriber>;
}

const EVERY_PARTNER = "*";
/** Live changes a replaying subscriber may hold back; past it, it is too far behind and is dropped. */
const HELD_WHILE_REPLAYING = LIMITS.maxPendingEvents * 10;

/**
 * Partner front-ends' live feed. Committed changes go out on the bus; each instance takes them in
 * once and fans them out to the subscribers it holds. Subscribers that share their rights and their
 * document form a group: a change is executed once per group that may see it (a PARTNER key's group:
 * its own partner's referrals only; ADMIN: all), serialised once, and the same text goes to every
 * socket of the group. Subscribers with different rights never share anything.
 */
export class LiveFanOut {
  private readonly groups = new Map<string, Group>();
  /** kind → scope (partner id, or EVERY_PARTNER) → groups. */
  private readonly index = new Map<LiveKind, Map<string, Set<Group>>>();
  private subscribers = 0;
  private readonly instantColumns: string[];
  private execution: FanOutExecution | undefined;
  private incoming: Repeater<ReferralChangeMessage[]> | undefined;

  constructor(
    private readonly bus: LiveBus,
    private readonly db: DataSource,
  ) {
    this.instantColumns = db
      .getMetadata(Referral)
      .columns.filter((column) => column.type === "datetime")
      .map((column) => column.propertyName);
  }

  /**
   * Sends committed transitions to every instance's subscribers: arrivals to `referralReceived`, the
   * rest to `referralUpdated`. The referral travels as it is: in process untouched, through Redis as
   * JSON (instants become ISO strings, restored on delivery).
   */
  publish(transitions: readonly Transition[]): void {
    this.bus.publishReferralChanges(
      transitions.map(({ action, referral }) => ({
        kind: action === ReferralAction.RECEIVE ? "received" : "updated",
        action,
        partnerId: referral.partnerId,
        referral: referral as unknown as Record<string, unknown>,
      })),
    );
  }

  /** Starts delivering this instance's share of the changes, executed as `execution` says. */
  start(execution: FanOutExecution): void {
    this.execution = execution;
    this.incoming = this.bus.referralChanges();
    const incoming = this.incoming;
    void (async () => {
      for await (const messages of incoming) await this.fanOut(messages);
    })();
  }

  async stop(): Promise<void> {
    await this.incoming?.return();
  }

  /**
   * The changes of one kind that `caller` may see, for one subscription on a socket, until the
   * returned iterator is returned. It yields nothing itself: the feed writes the results to the socket.
   */
  subscribe(caller: Caller, kind: LiveKind, request: LiveRequest): Subscriber {
    const scope = partnerScope(caller);
    const key = JSON.stringify([kind, caller.role, scope ?? null, request.operationName ?? null, request.variables ?? null, request.query]);
    let group = this.groups.get(key);
    if (!group) {
      group = { key, kind, scope, caller, request, subscribers: new Set() };
      this.groups.set(key, group);
      this.indexed(kind, scope ?? EVERY_PARTNER).add(group);
    }
    const subscriber = new Subscriber(request.socket, `{"id":${JSON.stringify(request.id)},"type":"next","payload":`, group, this.leave);
    group.subscribers.add(subscriber);
    this.subscribers += 1;
    // The group keeps what it needs of the request; the subscription's own copy can go.
    request.query = "";
    request.variables = undefined;
    return subscriber;
  }

  /** Subscriptions this instance holds right now. */
  get activeSubscriptions(): number {
    return this.subscribers;
  }

  private indexed(kind: LiveKind, scope: string): Set<Group> {
    let byScope = this.index.get(kind);
    if (!byScope) this.index.set(kind, (byScope = new Map()));
    let groups = byScope.get(scope);
    if (!groups) byScope.set(scope, (groups = new Set()));
    return groups;
  }

  private readonly leave = (group: Group, subscriber: Subscriber): void => {
    if (!group.subscribers.delete(subscriber)) return;
    this.subscribers -= 1;
    if (group.subscribers.size > 0) return;
    this.groups.delete(group.key);
    const byScope = this.index.get(group.kind)!;
    const scope = group.scope ?? EVERY_PARTNER;
    byScope.get(scope)!.delete(group);
    if (byScope.get(scope)!.size === 0) byScope.delete(scope);
  };

  private async fanOut(messages: ReferralChangeMessage[]): Promise<void> {
    for (const message of messages) {
      const groups = [
        ...(this.index.get(message.kind)?.get(message.partnerId) ?? []),
        ...(this.index.get(message.kind)?.get(EVERY_PARTNER) ?? []),
      ];
      if (groups.length === 0) continue;
      // Related rows are loaded once per change, for every group.
      const loaders = createLoaders(this.db);
      const rootValue: LiveReferralEvent = { referral: this.referralOf(message) };
      for (const group of groups) {
        const payload = await this.render(group, rootValue, loaders);
        for (const subscriber of group.subscribers) this.send(subscriber, payload);
      }
    }
  }

  /**
   * Sends changes of the change feed, in commit order, to the `changed` subscribers that may see
   * them; a subscriber still replaying holds them until it has caught up (change-stream.ts).
   */
  async deliverChanges(changes: readonly ReferralChange[], loaders: Loaders): Promise<void> {
    const byScope = this.index.get("changed");
    if (!byScope) return;
    for (const change of changes) {
      const groups = [...(byScope.get(change.partnerId) ?? []), ...(byScope.get(EVERY_PARTNER) ?? [])];
      for (const group of groups) {
        const payload = await this.render(group, change, loaders);
        for (const subscriber of group.subscribers) this.offer(subscriber, change.position, payload);
      }
    }
  }

  /** Whether the feed holds a `changed` subscription now. */
  get followsChanges(): boolean {
    return (this.index.get("changed")?.size ?? 0) > 0;
  }

  /** The group's document executed on one change, with the group's rights, as the JSON of a result. */
  async render(group: Group, rootValue: unknown, loaders: Loaders): Promise<string> {
    const execution = this.execution!;
    const contextValue: RequestContext = { caller: group.caller, resolvers: execution.resolvers, loaders };
    const { document, variables, operationName } = group.request;
    const result = await execute({ schema: execution.schema, document, rootValue, contextValue, variableValues: variables, operationName });
    return JSON.stringify(execution.formatResult(result));
  }

  /** Sends a change at `position` unless the subscriber has it already; holds it while the subscriber replays. */
  offer(subscriber: Subscriber, position: Position, payload: string): void {
    if (subscriber.floor && comparePositions(position, subscriber.floor) <= 0) return;
    if (subscriber.held) {
      subscriber.held.push({ position, message: payload });
      if (subscriber.held.length > HELD_WHILE_REPLAYING) this.execution!.dropSlowConsumer(subscriber.socket);
      return;
    }
    subscriber.floor = position;
    this.send(subscriber, payload);
  }

  send(subscriber: Subscriber, payload: string): void {
    const { socket } = subscriber;
    if (socket.readyState !== socket.OPEN) return;
    const message = `${subscriber.prefix}${payload}}`;
    // What the socket has not written out yet: more than the allowance of events like this one, and it is given up on.
    if (socket.bufferedAmount > LIMITS.maxPendingEvents * message.length) {
      this.execution!.dropSlowConsumer(socket);
      return;
    }
    socket.send(message);
  }

  private referralOf(message: ReferralChangeMessage): Referral {
    const referral = Object.assign(new Referral(), message.referral);
    for (const column of this.instantColumns) {
      const value = message.referral[column];
      Object.assign(referral, { [column]: value instanceof Date ? value : typeof value === "string" ? new Date(value) : null });
    }
    return referral;
  }
}
