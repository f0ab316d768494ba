import { Arg, Authorized, Resolver, Root, Subscription } from "type-graphql";
import { ReferralChange } from "../change-feed/index.js";
import { decodeCursor } from "../change-feed/index.js";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { Referral } from "../referrals/index.js";
import type { LiveReferralEvent } from "./fan-out.js";
import type { LiveRequest } from "./live-request.js";

/** The operation as the socket asked for it, taken from the context: the context lives as long as the subscription. */
function requestOf(context: RequestContext): LiveRequest {
  const live = context.live as LiveRequest | undefined;
  if (!live) throw new Error("live feeds are served over WebSocket only");
  context.live = undefined;
  return live;
}

/**
 * The feed executes each change once per group of subscribers with the same rights and document
 * (src/live/fan-out.ts), in a context of that group's rights: the customer stays hidden in NEW.
 */
@Resolver()
export class LiveResolver {
  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "A new referral routed to the caller's partner (ADMIN: any partner's).",
    subscribe: ({ context }) => requestOf(context as RequestContext).subscribe("received"),
  })
  referralReceived(@Root() delivery: LiveReferralEvent): Referral {
    return delivery.referral;
  }

  @Authorized(Role.PARTNER, Role.ADMIN)
  @Subscription(() => Referral, {
    description: "Any change of state of the caller's referrals, deadline expiry included.",
    subscribe: ({ context }) => requestOf(context as RequestContext).subscribe("updated"),
  })
  referralUpdated(@Root() delivery: LiveReferralEvent): Referral {
    return delivery.referral;
  }

  @Subscription(() => ReferralChange, {
    description:
      "The caller's referral changes, live. With `after`, first replays every change committed after that cursor, then continues live without a gap or a repeat.",
    subscribe: ({ args, context }) => {
      const { after } = args as { after?: string | null };
      // Refused before anything is subscribed, exactly as over HTTP.
      const from = after ? decodeCursor(after) : undefined;
      return requestOf(context as RequestContext).subscribe("changed", from);
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
