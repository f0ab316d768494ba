import type { DataSource } from "typeorm";
import { EntityRows } from "../db/entity-rows.js";
import { retryingDeadlocks } from "../db/errors.js";
import {
  columnsOnEntering,
  deadlineAction,
  statusesWithDeadline,
  targetStatus,
  type LifecycleWindows,
  type ReferralStatus,
} from "./lifecycle.js";
import type { CommittedTransitions } from "./committed-transitions.js";
import { Referral } from "./referral.entity.js";
import { recordTransitions, SYSTEM_LABEL } from "./record-transitions.js";

/** The referrals one expiry transaction takes at most. */
export const EXPIRY_BATCH_SIZE = 5000;

/** Batches in flight at once: one connection's batch runs in the database while another's commits. */
export const EXPIRY_WORKERS = 2;

/**
 * Deadline expiry in sets: NEW referrals past their respond-by become MISSED and EVALUATING ones
 * EXPIRED, by the system, a batch per transaction. A batch locks its overdue rows (skipping rows that
 * another transaction holds: a partner answering, another instance's sweep), changes them with one
 * guarded UPDATE, then records the transitions (record-transitions.ts: one event per row with one
 * INSERT, the partners' counters); what changed is announced after the commit. Running twice, late, or beside a partner's answer changes
 * nothing twice: the rows decide.
 */
export class ReferralExpiry {
  private readonly rows: EntityRows<Referral>;

  constructor(
    private readonly db: DataSource,
    private readonly windows: LifecycleWindows,
    private readonly transitions: CommittedTransitions,
    /** Hears, once its batch committed, how late each referral was expired (seconds past its deadline). */
    private readonly observeLateness?: (seconds: number) => void,
  ) {
    this.rows = new EntityRows(db, Referral);
  }

  /**
   * Expires everything due by `now`, batch after batch while full batches come back, on
   * EXPIRY_WORKERS connections at once (their locks keep their batches apart). `afterBatch` runs
   * after each batch (to renew a job's lock) and may answer false to stop at that batch's end.
   * Answers how many referrals it expired.
   */
  async expireDue(now = new Date(), afterBatch: () => Promise<boolean | undefined> = async () => undefined): Promise<number> {
    let expired = 0;
    let stop = false;
    const work = async () => {
      // A batch is announced while the next one runs in the database, and before the next is announced.
      let announced: Promise<void> = Promise.resolve();
      try {
        for (const status of statusesWithDeadline()) {
          while (!stop) {
            const batch = await this.expireBatch(status, now);
            await announced;
            announced = this.announce(status, batch);
            // Awaited before the next one; failing meanwhile (no free connection) is not an unhandled rejection that ends the process.
            announced.catch(() => undefined);
            expired += batch.length;
            if ((await afterBatch()) === false) stop = true;
            if (batch.length < EXPIRY_BATCH_SIZE) break;
          }
        }
      } finally {
        await announced;
      }
    };
    await Promise.all(Array.from({ length: EXPIRY_WORKERS }, work));
    return expired;
  }

  /**
   * Tells of a committed batch. Its rows are read again now, outside the batch's transaction (an
   * expired referral is archived: nothing changes it any more), so that this read overlaps the next batch.
   */
  private async announce(status: ReferralStatus, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const action = deadlineAction(status)!;
    const expired = await this.rows.select(this.db, "r", "WHERE r.id IN (?)", [ids]);
    await this.transitions.committed(expired.map((referral) => ({ action, referral })));
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

  /** One batch in one transaction: the referrals it expired, as they are now. */
  private async expireBatch(status: ReferralStatus, now: Date): Promise<string[]> {
    const action = deadlineAction(status)!;
    const entering = columnsOnEntering(targetStatus(action)!, now, this.windows);
    // The deadlines of the rows the (last) attempt locked: what the lateness is measured from.
    let deadlines: Date[] = [];
    // READ COMMITTED: locking the batch takes no gap locks, so new referrals never wait for it.
    const expired = await retryingDeadlocks(() =>
      this.db.transaction("READ COMMITTED", async (em) => {
        const due: { id: string; partnerId: string; profileId: string; version: number; respondBy: Date }[] = await em.query(
          `SELECT CAST(r.id AS CHAR) AS id, CAST(r.partner_id AS CHAR) AS partnerId, CAST(r.profile_id AS CHAR) AS profileId, r.version,
             r.respond_by AS respondBy FROM referrals r
           WHERE r.status = ? AND r.respond_by <= ? ORDER BY r.respond_by LIMIT ${EXPIRY_BATCH_SIZE} FOR UPDATE SKIP LOCKED`,
          [status, now],
        );
        deadlines = due.map((referral) => referral.respondBy);
        if (due.length === 0) return [];
        const ids = due.map((referral) => referral.id);
        // By primary key: the optimizer would otherwise walk the whole overdue range of the status index for each batch.
        const { affectedRows } = await em.query(
          `UPDATE referrals FORCE INDEX (PRIMARY) SET status = ?, respond_by = ?, closed_at = ?, updated_at = ?, version = version + 1
           WHERE id IN (?) AND status = ? AND respond_by <= ?`,
          [entering.status, entering.respondBy, entering.closedAt ?? null, now, ids, status, now],
        );
        // The rows are locked by this transaction: anything else is a bug, and rolls the batch back.
        if (affectedRows !== due.length) throw new Error(`expected to expire ${due.length} locked referrals, changed ${affectedRows}`);
        // The rows are locked: each one's version is the one read, plus the UPDATE's one. A deadline
        // answers nothing: the counters need only whose referral it was, and its profile.
        await recordTransitions(
          em,
          due.map(({ id, partnerId, profileId, version }) => ({
            action,
            referral: Object.assign(new Referral(), {
              id,
              partnerId,
              profileId,
              version: Number(version) + 1,
              status: entering.status,
              answeredAt: null,
            }),
          })),
          SYSTEM_LABEL,
          now,
        );
        return ids;
      }),
    );
    if (this.observeLateness && expired.length > 0) {
      const committedAt = Date.now();
      for (const deadline of deadlines) this.observeLateness(Math.max(0, (committedAt - deadline.getTime()) / 1000));
    }
    return expired;
  }
}
