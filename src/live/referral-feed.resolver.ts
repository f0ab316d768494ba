import { Authorized, Ctx, Resolver, Root, Subscription } from "type-graphql";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { Referral } from "../referrals/referral.entity.js";
import type { FeedDelivery } from "./referral-feed.js";

/**
 * Each change is resolved with the loaders that come with it, shared by every subscriber to it; the
 * subscriber's own key still decides what it sees (the customer stays hidden in NEW).
 */
function resolveDelivery(delivery: FeedDelivery, context: RequestContext): Referral {
  context.loaders = delivery.loaders;
  return delivery.referral;
}

function feedOf({ services, caller, dropSlowConsumer }: RequestContext, kind: "received" | "updated") {
  return services.feed.subscribe(caller, kind, dropSlowConsumer ?? (() => undefined));
}

@Resolver()
export class ReferralFeedResolver {
  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "A new referral routed to the caller's partner (ADMIN: any partner's).",
    subscribe: ({ context }) => feedOf(context as RequestContext, "received"),
  })
  referralReceived(@Root() delivery: FeedDelivery, @Ctx() context: RequestContext): Referral {
    return resolveDelivery(delivery, context);
  }

  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "Any change of state of the caller's referrals, deadline expiry included.",
    subscribe: ({ context }) => feedOf(context as RequestContext, "updated"),
  })
  referralUpdated(@Root() delivery: FeedDelivery, @Ctx() context: RequestContext): Referral {
    return resolveDelivery(delivery, context);
  }
}
