import { execute, type ExecutionResult, type GraphQLSchema } from "graphql";
import { partnerScope, type Caller } from "../graphql/caller.js";
import type { RequestContext, ResolverInstances } from "../graphql/context.js";
import { LIMITS } from "../graphql/limits.js";
import { ReferralAction } from "../referrals/lifecycle.js";
import { Referral } from "../referrals/index.js";
import type { LiveKind, LiveRequest } from "./live-request.js";
import { comparePositions, type Position, type ReferralChange } from "../change-feed/index.js";
import type { Loaders } from "../graphql/loaders.js";
import { LiveCloseCode } from "./close-codes.js";
import { type Group, Subscriber } from "./subscriber.js";
import type { NextMessage } from "./live-socket.js";

/** One change as `referralReceived` and `referralUpdated` resolve it: the referral, as it is when the change is delivered. */
export interface LiveReferralEvent {
  referral: Referral;
}

/** How the feed executes a document for a group and shapes its result: as every other operation is. */
export interface FanOutExecution {
  schema: GraphQLSchema;
  resolvers: ResolverInstances;
  /** Formats the result's errors as the error formatter does for any operation (masking unexpected ones). */
  formatResult(result: ExecutionResult): ExecutionResult;
  /** Encodes a result as graphql-ws's `next` message, once for any number of subscriptions. */
  encodeNext(result: ExecutionResult): NextMessage;
}

const EVERY_PARTNER = "*";
/** Live changes a replaying subscriber may hold back; past it, it is too far behind and is dropped. */
const HELD_WHILE_REPLAYING = LIMITS.maxPendingEvents * 10;

/**
 * Partner front-ends' live subscriptions, whatever carries them (live-socket.ts). The live change
 * stream (change-stream.ts) reads each placed batch once per instance and hands its changes here, in
 * commit order, for every kind of subscription: `referralReceived`, `referralUpdated` and
 * `referralChanged` see one order, the feed's and the webhooks'. Subscribers that share their rights
 * and their document form a group: a change is executed once per group that may see it (a PARTNER
 * key's group: its own partner's referrals only; ADMIN: all), encoded once by graphql-ws, and the
 * same message goes to every subscriber of the group, addressed by its subscription's id. Subscribers
 * with different rights never share anything.
 */
export class LiveFanOut {
  private readonly groups = new Map<string, Group>();
  /** kind → scope (partner id, or EVERY_PARTNER) → groups. */
  private readonly index = new Map<LiveKind, Map<string, Set<Group>>>();
  private subscribers = 0;
  private execution: FanOutExecution | undefined;

  /** Executes documents as `execution` says, from now on (the live change stream hands it the placed changes). */
  start(execution: FanOutExecution): void {
    this.execution = execution;
  }

  /**
   * The changes of one kind that `caller` may see, for one subscription on a socket, until the
   * returned iterator is returned.
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
    const subscriber = new Subscriber(request.socket, request.id, group, this.leave);
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

  /**
   * Sends placed changes, in commit order, to every subscriber that may see them: each change to the
   * `changed` groups, arrivals to the `received` groups and the rest to the `updated` groups. A
   * subscriber still replaying holds them until it has caught up (change-stream.ts); one that has a
   * change already (a delivery tried again) skips it by position.
   */
  async deliverChanges(changes: readonly ReferralChange[], loaders: Loaders): Promise<void> {
    for (const change of changes) {
      const kind = change.action === ReferralAction.RECEIVE ? "received" : "updated";
      for (const group of this.groupsFor("changed", change.partnerId)) {
        const next = await this.render(group, change, loaders);
        for (const subscriber of group.subscribers) this.offer(subscriber, change.position, next);
      }
      const event: LiveReferralEvent = { referral: change.referral };
      for (const group of this.groupsFor(kind, change.partnerId)) {
        const next = await this.render(group, event, loaders);
        for (const subscriber of group.subscribers) this.offer(subscriber, change.position, next);
      }
    }
  }

  /** Whether the fan-out holds any subscription now (else placed changes need not be read). */
  get hasSubscribers(): boolean {
    return this.groups.size > 0;
  }

  private groupsFor(kind: LiveKind, partnerId: string): Group[] {
    const byScope = this.index.get(kind);
    if (!byScope) return [];
    return [...(byScope.get(partnerId) ?? []), ...(byScope.get(EVERY_PARTNER) ?? [])];
  }

  /** The group's document executed on one change, with the group's rights, and encoded: one message for all its subscribers. */
  async render(group: Group, rootValue: unknown, loaders: Loaders): Promise<NextMessage> {
    const execution = this.execution!;
    const contextValue: RequestContext = { caller: group.caller, resolvers: execution.resolvers, loaders };
    const { document, variables, operationName } = group.request;
    const result = await execute({ schema: execution.schema, document, rootValue, contextValue, variableValues: variables, operationName });
    return execution.encodeNext(execution.formatResult(result));
  }

  /** Sends a change at `position` unless the subscriber has it already; holds it while the subscriber replays. */
  offer(subscriber: Subscriber, position: Position, next: NextMessage): void {
    if (subscriber.floor && comparePositions(position, subscriber.floor) <= 0) return;
    if (subscriber.held) {
      subscriber.held.push({ position, next });
      if (subscriber.held.length > HELD_WHILE_REPLAYING) dropSlowConsumer(subscriber);
      return;
    }
    subscriber.floor = position;
    // More messages waiting for the client than it may have, and it is given up on.
    if (subscriber.socket.unsentMessages >= LIMITS.maxPendingEvents) dropSlowConsumer(subscriber);
    else send(subscriber, next);
  }
}

/** Writes a message of the subscriber's group to its socket, addressed to its subscription. */
export function send({ socket, id }: Subscriber, next: NextMessage): void {
  socket.send(next(id));
}

function dropSlowConsumer({ socket }: Subscriber): void {
  if (socket.isOpen) socket.close(LiveCloseCode.SlowConsumer, `Slow consumer: over ${LIMITS.maxPendingEvents} events unsent`);
}
