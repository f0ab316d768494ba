import type { EntityManager } from "typeorm";
import { customerChoosesAnother, ReferralAction, type ReferralStatus } from "../referrals/lifecycle.js";
import { writeArrivalAlerts, writeChooseAnother } from "../notifications/notification-writer.js";

/** Whether a change of this action, leaving the referral in `statusAfter`, is told to the outside world. */
export function isOutgoing(action: ReferralAction, statusAfter: ReferralStatus): boolean {
  return action === ReferralAction.RECEIVE || customerChoosesAnother(statusAfter);
}

/**
 * The one path by which a referral change reaches the outside world: called in the transaction that
 * makes the change (an arrival, a partner's action, a batch of expiries), it writes the outbox rows
 * the change calls for; the relay delivers them after commit.
 */
export async function writeOutgoing(
  em: EntityManager,
  action: ReferralAction,
  statusAfter: ReferralStatus,
  referralIds: readonly string[],
  now: Date,
): Promise<void> {
  if (!isOutgoing(action, statusAfter)) return;
  if (action === ReferralAction.RECEIVE) await writeArrivalAlerts(em, referralIds, now);
  else await writeChooseAnother(em, referralIds, now);
}
