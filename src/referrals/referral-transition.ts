/**
 * How a key changes a referral. Each change is one transaction: a compare-and-set UPDATE on the
 * expected status (and version when given, and partner for PARTNER keys), then one event row and the
 * partner's counters. What the outside hears of it is derived from the event once it is placed. When the UPDATE matches nothing, nothing was written
 * and the error says why. (Deadlines expire referrals in sets: referral-expiry.ts.)
 */
import type { DataSource, EntityManager } from "typeorm";
import { partnerScope, type Caller } from "../graphql/caller.js";
import { retryingDeadlocks } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { ErrorCode } from "../graphql/error-codes.js";
import { AppError, notFound } from "../graphql/errors.js";
import { allowedFrom, columnsOnEntering, takenBy, targetStatus, type LifecycleWindows, type ReferralAction } from "./lifecycle.js";
import { Referral } from "./referral.entity.js";
import { recordTransitions } from "./record-transitions.js";

type ColumnChanges = Partial<Record<keyof Referral, unknown>>;

/** One partner action as the service describes it. */
export interface Change {
  action: ReferralAction;
  expectedVersion?: number | null;
  /** Columns the action sets beyond status, version, updatedAt, respondBy and closedAt. */
  set?: (now: Date) => ColumnChanges;
  /** The event's note, from the referral as the change left it. */
  note?: (after: Referral) => string | null;
}

/** A partner's action in its own transaction: the changed referral, or the refusal with nothing written. */
export async function changeReferral(
  db: DataSource,
  windows: LifecycleWindows,
  caller: Caller,
  id: string,
  change: Change,
): Promise<Referral> {
  if (takenBy(change.action) !== "partner") throw new Error(`${change.action} is the system's to take, not a key's`);
  if (!isRowId(id)) throw notFound(`referral ${id}`);
  // Two decisions of one partner share its counters; InnoDB may roll one back as a deadlock victim.
  return retryingDeadlocks(() =>
    db.transaction(async (em) => {
      const changed = await compareAndSet(em, windows, caller, id, change, new Date());
      if (!changed) throw await refusal(em, caller, id, change);
      return changed;
    }),
  );
}

/**
 * The transition itself: one compare-and-set UPDATE, then its event and counters.
 * Null when the UPDATE matched no row, in which case nothing was written.
 */
async function compareAndSet(
  em: EntityManager,
  windows: LifecycleWindows,
  caller: Caller,
  id: string,
  change: Change,
  now: Date,
): Promise<Referral | null> {
  const to = targetStatus(change.action);
  const columns: ColumnChanges = {
    ...change.set?.(now),
    ...(to === undefined ? {} : columnsOnEntering(to, now, windows)),
    version: () => "version + 1",
    updatedAt: now,
  };
  const update = em
    .createQueryBuilder()
    .update(Referral)
    .set(columns as never)
    .where("id = :id", { id })
    .andWhere("status IN (:...from)", { from: allowedFrom(change.action) });
  const partnerId = partnerScope(caller);
  if (partnerId !== undefined) update.andWhere("partner_id = :partnerId", { partnerId });
  if (change.expectedVersion != null) update.andWhere("version = :version", { version: change.expectedVersion });
  const { affected } = await update.execute();
  if (!affected) return null;

  const after = await em.findOneByOrFail(Referral, { id });
  await recordTransitions(em, [{ action: change.action, referral: after, note: change.note?.(after) }], caller.label, now);
  return after;
}

/** Why the compare-and-set matched no row: unknown (or not the caller's), wrong status, or stale version. */
async function refusal(em: EntityManager, caller: Caller, id: string, change: Change): Promise<AppError> {
  const current = await em.findOne(Referral, {
    where: { id },
    select: { id: true, status: true, version: true, partnerId: true },
  });
  const partnerId = partnerScope(caller);
  if (!current || (partnerId !== undefined && current.partnerId !== partnerId)) {
    return notFound(`referral ${id}`);
  }
  const from = allowedFrom(change.action);
  if (!from.includes(current.status)) {
    const allowed = from.length > 0 ? `only from ${from.join(", ")}` : "never";
    return new AppError(ErrorCode.INVALID_TRANSITION, `cannot ${change.action} referral ${id} in ${current.status} (${allowed})`, {
      status: current.status,
      action: change.action,
    });
  }
  const expected = change.expectedVersion == null ? "" : `, not ${change.expectedVersion}`;
  return new AppError(
    ErrorCode.STALE_VERSION,
    `referral ${id} is at version ${current.version}${expected}: read it again before changing it`,
    { currentVersion: current.version },
  );
}
