/**
 * The fit score: how well a referral matches what its partner accepted and declined before. A small,
 * explainable model — smoothed per-factor rates, averaged with weights that grow with evidence:
 *
 * - the partner's prior acceptance rate p0 = (accepted + 1) / (decided + 2);
 * - for each factor of the referral (its industry, company size, region, keywords together, and its
 *   deal-size band when it has a value), the acceptance rate among the partner's decided referrals
 *   that share it, pulled towards p0: (accepted + 2·p0) / (decided + 2); the deal-size band uses the
 *   win rate among the partner's closed deals of that band instead, pulled towards its win rate;
 * - score = (p0 + Σ wᵢ·rateᵢ) / (1 + Σ wᵢ), with wᵢ = nᵢ / (nᵢ + 2) for nᵢ referrals sharing factor i.
 *
 * Accepted = reached NEGOTIATING (NEGOTIATING, WON, LOST); declined = DECLINED or IGNORED. MISSED and
 * EXPIRED say nothing about the partner's taste and are left out. No decided referral: no score.
 */

export type Outcome = "accepted" | "declined";

/** What the model knows of a referral. */
export interface FitFeatures {
  industry: string | null;
  companySize: string;
  region: string;
  keywords: readonly string[];
  /** Only with a deal value: its band, e.g. "10k–100k EUR". */
  dealBand: string | null;
}

export interface FitExample extends FitFeatures {
  id: string;
  outcome: Outcome;
  /** For closed deals: whether it was won. */
  won: boolean | null;
}

export interface Fit {
  score: number;
  /** The strongest factors, in words, strongest first. */
  reasons: string[];
}

const SMOOTHING = 2;
const MAX_REASONS = 3;

const COMPANY_SIZES: Record<string, string> = {
  SIZE_1_TO_9: "1–9",
  SIZE_10_TO_49: "10–49",
  SIZE_50_TO_249: "50–249",
  SIZE_250_TO_999: "250–999",
  SIZE_1000_TO_4999: "1,000–4,999",
  SIZE_5000_PLUS: "5,000+",
};

/** The band of a deal value, by orders of magnitude, in its currency. */
export function dealBandOf(value: string | null, currency: string | null): string | null {
  if (value === null || currency === null) return null;
  const amount = Number(value);
  const band = amount < 10_000 ? "under 10k" : amount < 100_000 ? "10k–100k" : amount < 1_000_000 ? "100k–1M" : "1M and more";
  return `${band} ${currency}`;
}

interface Factor {
  reason: (hits: number, total: number, positive: boolean) => string;
  total: number;
  hits: number;
  prior: number;
}

function rateOf({ hits, total, prior }: Factor): number {
  return (hits + SMOOTHING * prior) / (total + SMOOTHING);
}

function weightOf({ total }: Factor): number {
  return total / (total + SMOOTHING);
}

/** The referral's fit to its partner's history (which must not contain the referral itself). */
export function fitOf(referral: FitFeatures, history: readonly FitExample[]): Fit | null {
  if (history.length === 0) return null;
  const accepted = history.filter((example) => example.outcome === "accepted").length;
  const prior = (accepted + 1) / (history.length + 2);

  const acceptance = (shares: (example: FitExample) => boolean, context: string): Factor => {
    const sharing = history.filter(shares);
    return {
      total: sharing.length,
      hits: sharing.filter((example) => example.outcome === "accepted").length,
      prior,
      reason: (hits, total, positive) =>
        positive ? `accepted ${hits} of ${total} referrals ${context}` : `declined or ignored ${total - hits} of ${total} referrals ${context}`,
    };
  };

  const keywords = new Set(referral.keywords.map((keyword) => keyword.toLowerCase()));
  const factors: Factor[] = [
    acceptance((example) => example.companySize === referral.companySize, `from companies of ${COMPANY_SIZES[referral.companySize] ?? referral.companySize} employees`),
    acceptance((example) => example.region === referral.region, `in ${referral.region}`),
  ];
  if (referral.industry !== null) {
    const industry = referral.industry.toLowerCase();
    factors.push(acceptance((example) => example.industry?.toLowerCase() === industry, `in ${referral.industry}`));
  }
  if (keywords.size > 0) {
    const shared = (example: FitExample) => example.keywords.some((keyword) => keywords.has(keyword.toLowerCase()));
    factors.push(acceptance(shared, `about ${[...keywords].map((keyword) => `“${keyword}”`).join(", ")}`));
  }
  if (referral.dealBand !== null) {
    const closed = history.filter((example) => example.won !== null);
    const won = closed.filter((example) => example.won).length;
    const sameBand = closed.filter((example) => example.dealBand === referral.dealBand);
    factors.push({
      total: sameBand.length,
      hits: sameBand.filter((example) => example.won).length,
      prior: (won + 1) / (closed.length + 2),
      reason: (hits, total, positive) =>
        positive ? `won ${hits} of ${total} deals of ${referral.dealBand}` : `lost ${total - hits} of ${total} deals of ${referral.dealBand}`,
    });
  }

  const evidenced = factors.filter((factor) => factor.total > 0);
  const weights = evidenced.reduce((sum, factor) => sum + weightOf(factor), 0);
  const score = (prior + evidenced.reduce((sum, factor) => sum + weightOf(factor) * rateOf(factor), 0)) / (1 + weights);
  const reasons = evidenced
    .map((factor) => ({ factor, strength: weightOf(factor) * Math.abs(rateOf(factor) - factor.prior) }))
    .sort((a, b) => b.strength - a.strength)
    .slice(0, MAX_REASONS)
    .map(({ factor }) => factor.reason(factor.hits, factor.total, rateOf(factor) >= factor.prior));
  return { score, reasons };
}
