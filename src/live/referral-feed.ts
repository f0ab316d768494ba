import { execute, type DocumentNode, type ExecutionResult, type GraphQLSchema } from "graphql";
import type { Repeater } from "@graphql-yoga/subscription";
import type { DataSource } from "typeorm";
import type { WebSocket } from "ws";
import { partnerScope, type Caller } from "../auth/caller.js";
import type { RequestContext, Services } from "../graphql/context.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders } from "../graphql/loaders.js";
import type { ReferralChange } from "../referrals/referral-changes.js";
import { Referral } from "../referrals/referral.entity.js";
import type { LiveBus, ReferralChangeMessage } from "./pubsub.js";

/** One change as a subscriber's document resolves it: the referral as the change left it. */
export interface FeedDelivery {
  referral: Referral;
}

export type FeedKind = ReferralChangeMessage["kind"];

/** A subscription as the socket asked for it: what decides which subscribers can share an execution. */
export interface LiveRequest {
  socket: WebSocket;
  /** The subscription's id on its socket. */
  id: string;
  document: DocumentNode;
  query: string;
  variables: Record<string, unknown> | null | undefined;
  operationName: string | null | undefined;
}

/** How the feed executes a document for a group and shapes its result: as every other operation is. */
export interface FeedExecution {
  schema: GraphQLSchema;
  services: Services;
  /** Formats the result's errors as the error formatter does for any operation (masking unexpected ones). */
  formatResult(result: ExecutionResult): ExecutionResult;
  /** Gives up on a socket that does not read its events. */
  dropSlowConsumer(socket: WebSocket): void;
}

/**
 * One subscription on a socket, and the iterator graphql-ws holds for it: it yields nothing (the
 * feed writes the results to the socket itself) and leaves its group when returned.
 */
class Subscriber implements AsyncIterableIterator<never> {
  constructor(
    readonly socket: WebSocket,
    /** `{"id":…,"type":"next","payload":` for this subscription: the shared payload and `}` complete it. */
    readonly prefix: string,
    private readonly group: Group,
    /** The feed's (one function for all subscribers). */
    private readonly leave: (group: Group, subscriber: Subscriber) => void,
  ) {}

  /** Never settles: once returned, nothing refers to the wait any more, and it goes with the garbage. */
  next(): Promise<IteratorResult<never>> {
    return new Promise(() => undefined);
  }

  async return(): Promise<IteratorResult<never>> {
    this.leave(this.group, this);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Subscribers with the same rights (role and partner) and the same document, variables and operation. */
interface Group {
  key: string;
  kind: FeedKind;
  scope: string | undefined;
  caller: Caller;
  request: LiveRequest;
  subscribers: Set<Subscriber>;
}

const EVERY_PARTNER = "*";

/**
 * Partner front-ends' live feed. Committed changes go out on the bus; each instance takes them in
 * once and fans them out to the subscribers it holds. Subscribers that share their rights and their
 * document form a group: a change is executed once per group that may see it (a PARTNER key's group:
 * its own partner's referrals only; ADMIN: all), serialised once, and the same text goes to every
 * socket of the group. Subscribers with different rights never share anything.
 */
export class ReferralFeed {
  private readonly groups = new Map<string, Group>();
  /** kind → scope (partner id, or EVERY_PARTNER) → groups. */
  private readonly index = new Map<FeedKind, Map<string, Set<Group>>>();
  private subscribers = 0;
  private readonly instantColumns: string[];
  private execution: FeedExecution | undefined;
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
   * Sends committed changes to every instance's subscribers. The referral travels as it is: in
   * process untouched, through Redis as JSON (instants become ISO strings, restored on delivery).
   */
  publish(changes: readonly ReferralChange[]): void {
    this.bus.publishReferralChanges(
      changes.map(({ kind, action, referral }) => ({ kind, action, partnerId: referral.partnerId, referral: referral as unknown as Record<string, unknown> })),
    );
  }

  /** Starts delivering this instance's share of the changes, executed as `execution` says. */
  start(execution: FeedExecution): void {
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
  subscribe(caller: Caller, kind: FeedKind, request: LiveRequest): AsyncIterableIterator<never> {
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

  private indexed(kind: FeedKind, scope: string): Set<Group> {
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
    const execution = this.execution!;
    for (const message of messages) {
      const groups = [
        ...(this.index.get(message.kind)?.get(message.partnerId) ?? []),
        ...(this.index.get(message.kind)?.get(EVERY_PARTNER) ?? []),
      ];
      if (groups.length === 0) continue;
      // Related rows are loaded once per change, for every group.
      const loaders = createLoaders(this.db);
      const rootValue: FeedDelivery = { referral: this.referralOf(message) };
      for (const group of groups) {
        const contextValue: RequestContext = { caller: group.caller, services: execution.services, loaders };
        const { document, variables, operationName } = group.request;
        const result = await execute({ schema: execution.schema, document, rootValue, contextValue, variableValues: variables, operationName });
        const payload = JSON.stringify(execution.formatResult(result));
        for (const subscriber of group.subscribers) this.send(subscriber, payload);
      }
    }
  }

  private send(subscriber: Subscriber, payload: string): void {
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
