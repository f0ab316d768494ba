import DataLoader from "dataloader";
import type { EntityManager } from "typeorm";
import type { LoaderKind } from "../graphql/loaders.js";
import { answerCountsOf, type AnswerCounts } from "./history-counters.js";
import type { Responsiveness } from "./stats.types.js";

const HOUR_US = 3_600_000_000;

/** A partner with no decided referral yet. */
const NO_HISTORY: Responsiveness = { decided: 0, medianHoursToAnswer: null, answeredWithin24hShare: null, missedShare: null };

/** A partner's answer counters as responsiveness shares (the median is the caller's to add). */
export function responsivenessFrom({ decided, answeredWithin24h, missed }: AnswerCounts): Responsiveness {
  if (decided === 0) return { ...NO_HISTORY };
  return { decided, medianHoursToAnswer: null, answeredWithin24hShare: answeredWithin24h / decided, missedShare: missed / decided };
}

/**
 * How quickly each partner answers new referrals (an answer is interest or "no thanks"): referrals no
 * longer NEW, the shares of them answered within 24 hours and MISSED (from the partner's counters),
 * and the nearest-rank median hours from arrival to the answer. Two queries, whatever the number of
 * partners.
 */
export async function responsivenessOf(
  db: Pick<EntityManager, "query">,
  partnerIds: readonly string[],
): Promise<Map<string, Responsiveness>> {
  const counts = await answerCountsOf(db, partnerIds);
  const found = new Map(partnerIds.map((id) => [id, responsivenessFrom(counts.get(id)!)]));
  if (partnerIds.length === 0) return found;
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

/** The loader kind of a partner's responsiveness, batched per request. */
export const responsivenessOfPartner: LoaderKind<DataLoader<string, Responsiveness>> = (db) =>
  new DataLoader(async (partnerIds) => {
    const found = await responsivenessOf(db, partnerIds);
    return partnerIds.map((id) => found.get(id)!);
  });
