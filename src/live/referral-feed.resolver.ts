import { Resolver, Subscription } from "type-graphql";
import { notImplemented } from "../graphql/errors.js";
import { Referral } from "../referrals/referral.entity.js";

@Resolver()
export class ReferralFeedResolver {
  @Subscription(() => Referral, {
    description: "A new referral routed to the caller's partner (ADMIN: any partner's).",
    subscribe: () => {
      throw notImplemented("referralReceived");
    },
  })
  referralReceived(): Referral {
    throw notImplemented("referralReceived");
  }

  @Subscription(() => Referral, {
    description: "Any change of state of the caller's referrals, deadline expiry included.",
    subscribe: () => {
      throw notImplemented("referralUpdated");
    },
  })
  referralUpdated(): Referral {
    throw notImplemented("referralUpdated");
  }
}
