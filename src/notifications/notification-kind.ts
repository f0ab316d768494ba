import { registerEnumType } from "type-graphql";

/** The e-mails the server sends. */
export enum NotificationKind {
  NEW_REFERRAL = "NEW_REFERRAL",
  RESPONSE_REMINDER = "RESPONSE_REMINDER",
  CHOOSE_ANOTHER_PARTNER = "CHOOSE_ANOTHER_PARTNER",
  WEBHOOK_DISABLED = "WEBHOOK_DISABLED",
}

registerEnumType(NotificationKind, {
  name: "NotificationKind",
  valuesConfig: {
    NEW_REFERRAL: { description: "To the profile's contact: a new referral arrived (overview only, deadline, link)." },
    RESPONSE_REMINDER: { description: "To the profile's contact: a NEW referral is close to its deadline and still unanswered." },
    CHOOSE_ANOTHER_PARTNER: {
      description:
        "To the customer: this partner will not follow up (ignored, missed, declined or expired); choose another, with suggestions.",
    },
    WEBHOOK_DISABLED: { description: "To the partner's profile contacts: a webhook endpoint failed for too long and was disabled." },
  },
});

/** The outbox channel e-mails travel on. */
export const EMAIL_CHANNEL = "email";

/** One e-mail of a kind per referral: writing it twice (a job run again) writes it once. */
export function emailDedupeKey(kind: NotificationKind, referralId: string): string {
  return `${EMAIL_CHANNEL}:${kind}:${referralId}`;
}

/**
 * One e-mail per recipient each time an endpoint is disabled (it can be enabled and disabled again):
 * the endpoint, the moment and the recipient's place in the list. With a bigint id (20 digits at most)
 * and 13-digit milliseconds, WEBHOOK_DISABLED's keys stay under 70 characters, within the column's 120.
 */
export function endpointEmailDedupeKey(kind: NotificationKind, endpointId: string, at: Date, index: number): string {
  return `${EMAIL_CHANNEL}:${kind}:${endpointId}:${at.getTime()}:${index}`;
}
