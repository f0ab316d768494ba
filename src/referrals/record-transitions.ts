import { countChanges } from "../analytics/index.js";
import type { Queryable } from "../db/entity-rows.js";
import { statusBefore, type ReferralAction } from "./lifecycle.js";
import type { Referral } from "./referral.entity.js";

/** The label on the events of what no key did (deadlines). */
export const SYSTEM_LABEL = "system";

/** One transition, once its row is written: the referral as it left it. */
export interface Transition {
  action: ReferralAction;
  referral: Referral;
  /** The event's note. */
  note?: string | null;
}

/**
 * What every transition writes beside its referral's row, in the transaction that wrote the row:
 * its event (one INSERT for the set, VALUES rather than INSERT … SELECT, which would hold the
 * events' AUTO-INC lock for the whole statement under innodb_autoinc_lock_mode 1) and what it
 * teaches the partner's counters. Used by partner actions, arrivals and expiry batches alike; the
 * outside world hears of it from the event once it is placed (src/change-feed/sequencer.ts).
 */
export async function recordTransitions(q: Queryable, transitions: readonly Transition[], actor: string, at: Date): Promise<void> {
  if (transitions.length === 0) return;
  await q.query(
    `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, note) VALUES ?`,
    [
      transitions.map(({ action, referral, note }) => [
        referral.id,
        referral.partnerId,
        referral.version,
        action,
        at,
        statusBefore(action, referral.status),
        referral.status,
        actor,
        note ?? null,
      ]),
    ],
  );
  await countChanges(q, transitions);
}
