import type { DataSource } from "typeorm";
import { countChanges } from "../analytics/history-counters.js";
import { retryingDeadlocks } from "../db/errors.js";
import {
  columnsOnEntering,
  deadlineAction,
  statusesWithDeadline,
  targetStatus,
  type LifecycleWindows,
  type ReferralStatus,
} from "./lifecycle.js";
import type { ReferralChanges } from "./referral-changes.js";
import { Referral, ReferralEvent } from "./referral.entity.js";

/** The referrals one expiry transaction takes at most. */
export const EXPIRY_BATCH_SIZE = 1000;

/** Who expires referrals, as the events record it. */
export const SYSTEM_ACTOR_LABEL = "system";

/**
 * Deadline expiry in sets: NEW referrals past their respond-by become MISSED and EVALUATING ones
 * EXPIRED, by the system, a batch per transaction. A batch locks its overdue rows (skipping rows that
 * another transaction holds: a partner answering, another instance's sweep), changes them with one
 * guarded UPDATE, records one event per row with one INSERT and updates the partners' counters; what
 * changed is announced after the commit. Running twice, late, or beside a partner's answer changes
 * nothing twice: the rows decide.
 */
export class ReferralExpiry {
  constructor(
    private readonly db: DataSource,
    private readonly windows: LifecycleWindows,
    private readonly changes: ReferralChanges,
  ) {}

  /**
   * Expires everything due by `now`, batch after batch while full batches come back. `afterBatch`
   * runs after each (to renew a job's lock) and may answer false to stop at that batch's end.
   * Answers how many referrals it expired.
   */
  async expireDue(now = new Date(), afterBatch: () => Promise<boolean | void> = async () => undefined): Promise<number> {
    let expired = 0;
    for (const status of statusesWithDeadline()) {
      for (;;) {
        const batch = await this.expireBatch(status, now);
        expired += batch;
        if ((await afterBatch()) === false) return expired;
        if (batch < EXPIRY_BATCH_SIZE) break;
      }
    }
    return expired;
  }

  /** The seconds (each deadline rounded up) in which open referrals' deadlines fall, after `from` and up to `to`. */
  async dueSecondsBetween(from: Date, to: Date): Promise<Date[]> {
    // Rounded up in SQL on the stored UTC value: no session time zone takes part.
    const rows: { second: string }[] = await this.db.query(
      `SELECT DISTINCT DATE_FORMAT(respond_by + INTERVAL 999999 MICROSECOND, '%Y-%m-%dT%H:%i:%sZ') AS second
       FROM referrals WHERE status IN (?) AND respond_by > ? AND respond_by <= ?`,
      [statusesWithDeadline(), from, to],
    );
    return rows.map((row) => new Date(row.second));
  }

  private async expireBatch(status: ReferralStatus, now: Date): Promise<number> {
    const action = deadlineAction(status)!;
    const entering = columnsOnEntering(targetStatus(action)!, now, this.windows);
    // READ COMMITTED: locking the batch takes no gap locks, so new referrals never wait for it.
    const expired = await retryingDeadlocks(() =>
      this.db.transaction("READ COMMITTED", async (em) => {
        const due = await em
          .createQueryBuilder(Referral, "r")
          .where("r.status = :status AND r.respondBy <= :now", { status, now })
          .orderBy("r.respondBy", "ASC")
          .limit(EXPIRY_BATCH_SIZE)
          .setLock("pessimistic_write")
          .setOnLocked("skip_locked")
          .getMany();
        if (due.length === 0) return [];
        const { affected } = await em
          .createQueryBuilder()
          .update(Referral)
          .set({ ...entering, updatedAt: now, version: () => "version + 1" })
          .where("id IN (:...ids)", { ids: due.map((referral) => referral.id) })
          .andWhere("status = :status AND respond_by <= :now", { status, now })
          .execute();
        // The rows are locked by this transaction: anything else is a bug, and rolls the batch back.
        if (affected !== due.length) throw new Error(`expected to expire ${due.length} locked referrals, changed ${affected}`);
        for (const referral of due) Object.assign(referral, entering, { updatedAt: now, version: referral.version + 1 });
        await em
          .createQueryBuilder()
          .insert()
          .into(ReferralEvent)
          .values(
            due.map((referral) => ({ referralId: referral.id, action, at: now, from: status, to: entering.status, actor: SYSTEM_ACTOR_LABEL, note: null })),
          )
          .updateEntity(false)
          .execute();
        await countChanges(em, due.map((referral) => ({ action, referral })));
        return due;
      }),
    );
    await this.changes.committed(expired.map((referral) => ({ kind: "updated", action, referral })));
    return expired.length;
  }
}
