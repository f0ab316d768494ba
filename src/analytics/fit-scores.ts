import type { DataSource } from "typeorm";
import { ReferralAction, ReferralStatus } from "../referrals/lifecycle.js";
import type { ReferralChange } from "../referrals/referral-changes.js";
import { dealBandOf, fitOf, type Fit, type FitExample, type FitFeatures } from "./fit.js";

const ACCEPTED = [ReferralStatus.NEGOTIATING, ReferralStatus.WON, ReferralStatus.LOST];
const DECLINED = [ReferralStatus.DECLINED, ReferralStatus.IGNORED];
const OPEN = [ReferralStatus.NEW, ReferralStatus.EVALUATING, ReferralStatus.NEGOTIATING];
/** Decisions that change a partner's history, and so every open referral's fit. */
const DECISIONS = new Set([
  ReferralAction.ACCEPT,
  ReferralAction.DECLINE,
  ReferralAction.IGNORE,
  ReferralAction.MARK_WON,
  ReferralAction.MARK_LOST,
]);
const WRITE_BATCH = 200;

interface FeatureRow {
  id: string;
  status: ReferralStatus;
  industry: string | null;
  companySize: string;
  region: string;
  keywords: string;
  dealValue: string | null;
  dealCurrency: string | null;
}

function featuresOf(row: FeatureRow): FitFeatures {
  return {
    industry: row.industry,
    companySize: row.companySize,
    region: row.region,
    keywords: JSON.parse(row.keywords) as string[],
    dealBand: dealBandOf(row.dealValue, row.dealCurrency),
  };
}

/**
 * Keeps each referral's fit score (src/analytics/fit.ts) current, stored so that lists can sort by
 * it: for a new referral or a revised estimate, that referral; after a partner's decision, all its
 * open referrals. Derived data: it changes neither the version nor updatedAt.
 */
export class FitScores {
  constructor(private readonly db: DataSource) {}

  /** A ReferralChanges listener; it also updates the change's snapshot, so live events carry the score. */
  async refresh({ action, referral }: ReferralChange): Promise<void> {
    const everyOpen = DECISIONS.has(action);
    if (!everyOpen && action !== ReferralAction.RECEIVE && action !== ReferralAction.UPDATE_ESTIMATE) return;
    // One read of the partner's referrals: the open ones to score, the decided ones to learn from.
    const rows = await this.rows(referral.partnerId);
    const targets = rows.filter((row) => (everyOpen ? OPEN.includes(row.status) : row.id === referral.id));
    if (targets.length === 0) return;
    const history: FitExample[] = rows
      .filter((row) => ACCEPTED.includes(row.status) || DECLINED.includes(row.status))
      .map((row) => ({
        ...featuresOf(row),
        id: row.id,
        outcome: ACCEPTED.includes(row.status) ? "accepted" : "declined",
        won: row.status === ReferralStatus.WON ? true : row.status === ReferralStatus.LOST ? false : null,
      }));
    const fits = targets.map((row) => ({
      id: row.id,
      fit: fitOf(
        featuresOf(row),
        history.filter((example) => example.id !== row.id),
      ),
    }));
    await this.store(fits);
    const own = fits.find(({ id }) => id === referral.id);
    if (own) {
      referral.fitScore = own.fit === null ? null : own.fit.score.toFixed(4);
      referral.fitReasons = own.fit?.reasons ?? null;
    }
  }

  /** The partner's referrals that are open or decided, with what the model reads of each. */
  private rows(partnerId: string): Promise<FeatureRow[]> {
    return this.db.query(
      `SELECT CAST(r.id AS CHAR) AS id, r.status, r.industry, r.company_size AS companySize, r.region, f.keywords,
              r.deal_value AS dealValue, r.deal_currency AS dealCurrency
       FROM referrals r JOIN rfis f ON f.id = r.rfi_id
       WHERE r.partner_id = ? AND r.status IN (?)`,
      [partnerId, [...new Set([...OPEN, ...ACCEPTED, ...DECLINED])]],
    );
  }

  private async store(fits: { id: string; fit: Fit | null }[]): Promise<void> {
    for (let start = 0; start < fits.length; start += WRITE_BATCH) {
      const batch = fits.slice(start, start + WRITE_BATCH);
      const cases = batch.map(() => "WHEN ? THEN ?").join(" ");
      await this.db.query(
        `UPDATE referrals SET fit_score = CASE id ${cases} END, fit_reasons = CASE id ${cases} END WHERE id IN (?)`,
        [
          ...batch.flatMap(({ id, fit }) => [id, fit === null ? null : fit.score.toFixed(4)]),
          ...batch.flatMap(({ id, fit }) => [id, fit === null ? null : JSON.stringify(fit.reasons)]),
          batch.map(({ id }) => id),
        ],
      );
    }
  }
}
