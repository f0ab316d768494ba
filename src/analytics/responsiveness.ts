import type { EntityManager } from "typeorm";
import type { Responsiveness } from "./stats.types.js";

const HOUR_US = 3_600_000_000;

/** A partner with no decided referral yet. */
const NO_HISTORY: Responsiveness = { decided: 0, medianHoursToAnswer: null, answeredWithin24hShare: null, missedShare: null };

/**
 * How quickly each partner answers new referrals (an answer is interest or "no thanks"): referrals no
 * longer NEW, the nearest-rank median hours from arrival to the answer, and the shares of decided
 * referrals answered within 24 hours and MISSED. Two grouped queries, whatever the number of partners.
 */
export async function responsivenessOf(db: Pick<EntityManager, "query">, partnerIds: readonly string[]): Promise<Map<string, Responsiveness>> {
  const found = new Map<string, Responsiveness>(partnerIds.map((id) => [id, { ...NO_HISTORY }]));
  if (partnerIds.length === 0) return found;
  const counts: { partnerId: string; decided: string; within24h: string; missed: string }[] = await db.query(
    `SELECT CAST(partner_id AS CHAR) AS partnerId, COUNT(*) AS decided,
            SUM(answered_at IS NOT NULL AND answered_at <= received_at + INTERVAL 24 HOUR) AS within24h,
            SUM(status = 'MISSED') AS missed
     FROM referrals WHERE partner_id IN (?) AND status <> 'NEW' GROUP BY partner_id`,
    [partnerIds],
  );
  for (const row of counts) {
    const decided = Number(row.decided);
    Object.assign(found.get(row.partnerId)!, {
      decided,
      answeredWithin24hShare: Number(row.within24h) / decided,
      missedShare: Number(row.missed) / decided,
    });
  }
  const medians: { partnerId: string; us: string }[] = await db.query(
    `SELECT partnerId, us FROM (
       SELECT CAST(partner_id AS CHAR) AS partnerId, TIMESTAMPDIFF(MICROSECOND, received_at, answered_at) AS us,
              ROW_NUMBER() OVER (PARTITION BY partner_id ORDER BY TIMESTAMPDIFF(MICROSECOND, received_at, answered_at)) AS rn,
              COUNT(*) OVER (PARTITION BY partner_id) AS n
       FROM referrals WHERE partner_id IN (?) AND answered_at IS NOT NULL
     ) answers WHERE rn = CEIL(0.5 * n)`,
    [partnerIds],
  );
  for (const row of medians) found.get(row.partnerId)!.medianHoursToAnswer = Number(row.us) / HOUR_US;
  return found;
}

/** Partners with few decided referrals are pulled towards an even score, so one answer decides little. */
const SMOOTHING = 5;

/**
 * Responsiveness as one number for routing, 0..1: the mean of the share answered within 24 hours and
 * the share not missed, smoothed towards 0.5 by 5 imaginary decided referrals.
 */
export function responsivenessScore({ decided, answeredWithin24hShare, missedShare }: Responsiveness): number {
  const raw = decided === 0 ? 0.5 : ((answeredWithin24hShare ?? 0) + (1 - (missedShare ?? 0))) / 2;
  return (decided * raw + SMOOTHING * 0.5) / (decided + SMOOTHING);
}
