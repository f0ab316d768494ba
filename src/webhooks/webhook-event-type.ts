import { registerEnumType } from "type-graphql";
import { ReferralAction } from "../referrals/lifecycle.js";

/** What an endpoint can ask to be told of. */
export enum WebhookEventType {
  REFERRAL_RECEIVED = "REFERRAL_RECEIVED",
  REFERRAL_UPDATED = "REFERRAL_UPDATED",
}

registerEnumType(WebhookEventType, {
  name: "WebhookEventType",
  valuesConfig: {
    REFERRAL_RECEIVED: { description: "A new referral routed to the endpoint's partner." },
    REFERRAL_UPDATED: { description: "Any later change of one of its referrals, deadline expiry included." },
  },
});

/** The event type of a change: its arrival, or anything after it. */
export function eventTypeOf(action: ReferralAction): WebhookEventType {
  return action === ReferralAction.RECEIVE ? WebhookEventType.REFERRAL_RECEIVED : WebhookEventType.REFERRAL_UPDATED;
}

/** The `type` of a webhook's body, in the Standard Webhooks style. */
export function bodyTypeOf(type: WebhookEventType): string {
  return type === WebhookEventType.REFERRAL_RECEIVED ? "referral.received" : "referral.updated";
}
