import type { DataSource } from "typeorm";
import { tagged } from "../db/background.js";
import type { Queryable } from "../db/entity-rows.js";
import { openStatuses } from "../referrals/lifecycle.js";
import type { Fit } from "./fit.js";

/** The loop that scores and rescores: its statements say so (src/db/background.ts). */
export const RESCORING = "fit rescoring";
/** Referrals one rescoring transaction locks at most. */
const WRITE_BATCH = 100;

/**
 * A score to write. `unscored`: written only over no score, for a referral that arrived since it was
 * queued: a rescoring that ran meanwhile wrote one from counters at least as new.
 */
export interface ScoredFit {
  id: string;
  fit: Fit | null;
  unscored?: boolean;
}

/** A score as the referrals table stores it. */
export const scoreText = (fit: Fit | null) => (fit === null ? null : fit.score.toFixed(4));
/** Reasons as the referrals table stores them. */
export const reasonsText = (fit: Fit | null) => (fit === null ? null : JSON.stringify(fit.reasons));

/**
 * Writes scores in small batches, a short READ COMMITTED transaction each, locking in ascending id
 * order and never waiting for a referral that something else holds (a request changing it, the
 * sequencer's foreign-key checks): waiting while holding a batch is how rescoring closed lock cycles
 * with them. The rows skipped are written afterwards one statement each, which holds nothing else
 * while it waits. A referral archived meanwhile keeps the score it had.
 */
export async function storeFits(db: DataSource, fits: ScoredFit[]): Promise<void> {
  const byId = new Map(fits.map((scored) => [scored.id, scored]));
  const ids = [...byId.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  const skipped: string[] = [];
  for (let start = 0; start < ids.length; start += WRITE_BATCH) {
    const batch = ids.slice(start, start + WRITE_BATCH);
    const written = await db.transaction("READ COMMITTED", async (manager) => {
      // The same transaction as TypeORM runs it; only its statements are tagged.
      const em = tagged(manager, RESCORING);
      const locked: { id: string }[] = await em.query(
        "SELECT CAST(id AS CHAR) AS id FROM referrals WHERE id IN (?) AND status IN (?) ORDER BY id FOR UPDATE SKIP LOCKED",
        [batch, openStatuses()],
      );
      const lockedFits = locked.map(({ id }) => byId.get(id)!);
      if (lockedFits.length > 0) await writeFits(em, lockedFits);
      return new Set(locked.map(({ id }) => id));
    });
    skipped.push(...batch.filter((id) => !written.has(id)));
  }
  // Mostly referrals archived since they were read, which the status condition leaves alone.
  const loop = tagged(db, RESCORING);
  for (const id of skipped) await writeFits(loop, [byId.get(id)!]);
}

/** One UPDATE of the referrals' scores, for those still open (and still unscored, where said). */
export async function writeFits(q: Queryable, fits: ScoredFit[]): Promise<void> {
  const cases = fits.map(() => "WHEN ? THEN ?").join(" ");
  const scoredBefore = fits.filter((scored) => !scored.unscored).map(({ id }) => id);
  const guard = scoredBefore.length === fits.length ? "" : ` AND (fit_score IS NULL${scoredBefore.length > 0 ? " OR id IN (?)" : ""})`;
  await q.query(
    `UPDATE referrals SET fit_score = CASE id ${cases} END, fit_reasons = CASE id ${cases} END WHERE id IN (?) AND status IN (?)${guard}`,
    [
      ...fits.flatMap(({ id, fit }) => [id, scoreText(fit)]),
      ...fits.flatMap(({ id, fit }) => [id, reasonsText(fit)]),
      fits.map(({ id }) => id),
      openStatuses(),
      ...(guard !== "" && scoredBefore.length > 0 ? [scoredBefore] : []),
    ],
  );
}
