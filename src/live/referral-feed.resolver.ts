import { Authorized, Resolver, Root, Subscription } from "type-graphql";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { Referral } from "../referrals/referral.entity.js";
import type { FeedDelivery, FeedKind } from "./referral-feed.js";

function feedOf(context: RequestContext, kind: FeedKind) {
  const { live } = context;
  if (!live) throw new Error("live feeds are served over WebSocket only");
  // The feed keeps what it needs of the request; the context lives as long as the subscription.
  context.live = undefined;
  return context.services.feed.subscribe(context.caller, kind, live);
}

/**
 * The feed executes each change once per group of subscribers with the same rights and document
 * (src/live/referral-feed.ts), in a context of that group's rights: the customer stays hidden in NEW.
 */
@Resolver()
export class ReferralFeedResolver {
  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "A new referral routed to the caller's partner (ADMIN: any partner's).",
    subscribe: ({ context }) => feedOf(context as RequestContext, "received"),
  })
  referralReceived(@Root() delivery: FeedDelivery): Referral {
    return delivery.referral;
  }

  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "Any change of state of the caller's referrals, deadline expiry included.",
    subscribe: ({ context }) => feedOf(context as RequestContext, "updated"),
  })
  referralUpdated(@Root() delivery: FeedDelivery): Referral {
    return delivery.referral;
  }
}
