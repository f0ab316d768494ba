import { countChanges } from "../analytics/index.js";
import type { Queryable } from "../db/entity-rows.js";
import { holdsCapacity, statusBefore, type ReferralAction } from "./lifecycle.js";
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

/** Arrivals routed automatically found a profile full or paused (it filled since routing read it): nothing was written. */
export class AtCapacity extends Error {
  constructor() {
    super("a marketing profile chosen by automatic routing is full or paused");
  }
}

/**
 * What every transition writes beside its referral's row, in the transaction that wrote the row:
 * its event (one INSERT for the set, VALUES rather than INSERT … SELECT, which would hold the
 * events' AUTO-INC lock for the whole statement under innodb_autoinc_lock_mode 1), its profile's
 * count of open referrals (an arrival's was taken before its row existed: takeProfilePlaces), and
 * what it teaches the partner's counters. Used by partner actions, arrivals and expiry batches alike;
 * the outside world hears of it from the event once it is placed (src/change-feed/sequencer.ts).
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
  const changes = new Map<string, number>();
  for (const { action, referral } of transitions) {
    const before = statusBefore(action, referral.status);
    if (before === null) continue;
    const delta = Number(holdsCapacity(referral.status)) - Number(holdsCapacity(before));
    if (delta !== 0) changes.set(referral.profileId, (changes.get(referral.profileId) ?? 0) + delta);
  }
  await moveOpenCounts(q, changes, at, false);
  await countChanges(q, transitions);
}

/**
 * The places new referrals take on their profiles, before their rows are inserted: the referrals'
 * foreign key would take a shared lock on each profile first, and two arrivals to the same profile
 * would then deadlock, both upgrading it to write the count. `withinCapacity` (automatic routing):
 * each profile must have room under maxOpenReferrals and not be paused at `at`, or AtCapacity is
 * thrown and nothing is counted.
 */
export function takeProfilePlaces(q: Queryable, profileIds: readonly string[], at: Date, withinCapacity: boolean): Promise<void> {
  const places = new Map<string, number>();
  for (const id of profileIds) places.set(id, (places.get(id) ?? 0) + 1);
  return moveOpenCounts(q, places, at, withinCapacity);
}

/**
 * Moves each profile's open_referrals by its delta, in one statement locking the profiles in id
 * order. Within capacity, the statement changes only profiles with room that are not paused: one
 * left unchanged means the arrivals do not fit.
 */
async function moveOpenCounts(q: Queryable, deltas: ReadonlyMap<string, number>, at: Date, withinCapacity: boolean): Promise<void> {
  const ids = [...deltas.keys()].filter((id) => deltas.get(id) !== 0).sort((a, b) => Number(a) - Number(b));
  if (ids.length === 0) return;
  const delta = `CASE id ${ids.map(() => "WHEN ? THEN ?").join(" ")} END`;
  const deltaParameters = ids.flatMap((id) => [id, deltas.get(id)]);
  const room = withinCapacity
    ? ` AND (max_open_referrals IS NULL OR open_referrals + ${delta} <= max_open_referrals) AND (paused_until IS NULL OR paused_until <= ?)`
    : "";
  const result: { affectedRows: number } = await q.query(
    `UPDATE marketing_profiles SET open_referrals = open_referrals + ${delta} WHERE id IN (?)${room}`,
    [...deltaParameters, ids, ...(withinCapacity ? [...deltaParameters, at] : [])],
  );
  if (withinCapacity && result.affectedRows < ids.length) throw new AtCapacity();
}
