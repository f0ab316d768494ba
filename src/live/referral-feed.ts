import { Repeater } from "@graphql-yoga/subscription";
import type { DataSource } from "typeorm";
import { partnerScope, type Caller } from "../auth/caller.js";
import { LIMITS } from "../graphql/limits.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import type { ReferralChange } from "../referrals/referral-changes.js";
import { Referral } from "../referrals/referral.entity.js";
import type { LiveBus, ReferralChangeMessage } from "./pubsub.js";

/** One change as a subscriber resolves it: the referral as the change left it. */
export interface FeedDelivery {
  referral: Referral;
  /**
   * Loaders shared by every subscriber of this instance for this one change, so that a thousand
   * subscribers cost one query per related table, not a thousand.
   */
  loaders: Loaders;
}

/**
 * Partner front-ends' live feed: committed referral changes go out on the bus, and come back to
 * each subscriber this instance holds, filtered by what its key may see.
 */
export class ReferralFeed {
  private active = 0;
  private readonly deliveries = new WeakMap<ReferralChangeMessage, FeedDelivery>();
  private readonly instantColumns: string[];

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

  /**
   * The changes of one kind that `caller` may see (a PARTNER key: its own partner's referrals; ADMIN:
   * all), until the returned iterator is returned. A consumer that falls more than
   * LIMITS.maxPendingEvents behind is given up on (`tooSlow`), so a client that stops reading holds a
   * bounded backlog.
   */
  subscribe(caller: Caller, kind: ReferralChangeMessage["kind"], tooSlow: () => void): Repeater<FeedDelivery> {
    const scope = partnerScope(caller);
    return new Repeater<FeedDelivery>(async (push, stop) => {
      const changes = this.bus.referralChanges();
      this.active += 1;
      void stop.then(() => changes.return());
      let pending = 0;
      try {
        deliveries: for await (const messages of changes) {
          for (const message of messages) {
            if (message.kind !== kind || (scope !== undefined && message.partnerId !== scope)) continue;
            if (pending >= LIMITS.maxPendingEvents) {
              tooSlow();
              break deliveries;
            }
            pending += 1;
            void push(this.deliveryOf(message)).then(() => (pending -= 1));
          }
        }
      } finally {
        this.active -= 1;
      }
      stop();
    });
  }

  /** Subscriptions this instance holds right now. */
  get activeSubscriptions(): number {
    return this.active;
  }

  private deliveryOf(message: ReferralChangeMessage): FeedDelivery {
    let delivery = this.deliveries.get(message);
    if (!delivery) {
      const referral = Object.assign(new Referral(), message.referral);
      for (const column of this.instantColumns) {
        const value = message.referral[column];
        Object.assign(referral, { [column]: value instanceof Date ? value : typeof value === "string" ? new Date(value) : null });
      }
      delivery = { referral, loaders: createLoaders(this.db) };
      this.deliveries.set(message, delivery);
    }
    return delivery;
  }
}
