import { Arg, Authorized, Resolver, Root, Subscription } from "type-graphql";
import { ReferralChange } from "../change-feed/change-feed.types.js";
import { decodeCursor } from "../change-feed/position.js";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { Referral } from "../referrals/referral.entity.js";
import type { FeedDelivery, FeedKind } from "./referral-feed.js";

/** The operation as the socket asked for it, taken from the context: the context lives as long as the subscription. */
function requestOf(context: RequestContext) {
  const { live } = context;
  if (!live) throw new Error("live feeds are served over WebSocket only");
  context.live = undefined;
  return live;
}

function feedOf(context: RequestContext, kind: FeedKind) {
  return context.services.feed.subscribe(context.caller, kind, requestOf(context));
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

  @Subscription(() => ReferralChange, {
    description:
      "The caller's referral changes, live. With `after`, first replays every change committed after that cursor, then continues live without a gap or a repeat.",
    subscribe: ({ args, context }) => {
      const { after } = args as { after?: string | null };
      // Refused before anything is subscribed, exactly as over HTTP.
      const from = after ? decodeCursor(after) : undefined;
      const ctx = context as RequestContext;
      return ctx.services.changeStream.follow(ctx.caller, requestOf(ctx), from);
    },
  })
  referralChanged(
    @Root() change: ReferralChange,
    @Arg("after", () => String, { nullable: true, description: "The last cursor seen: changes after it are replayed first." }) _after:
      | string
      | null,
  ): ReferralChange {
    return change;
  }
}
