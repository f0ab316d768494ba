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
 * Accepted and declined are the lifecycle's outcomes (src/referrals/lifecycle.ts); MISSED and EXPIRED
 * say nothing about the partner's taste and are left out. No decided referral: no score.
 *
 * The model reads only counts of the history (its sufficient statistics, FitCounts), which the
 * server keeps up to date as partners decide, so a score costs the same whatever the history. The
 * keywords factor adds up the counts of each of the referral's keywords: a past referral sharing two
 * of them counts twice.
 */

import { dealWon, outcomeOf, type Outcome, type ReferralStatus } from "../referrals/lifecycle.js";

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

/**
 * The counters of a partner's history: DECIDED and, per value of each factor, its decided referrals
 * (`total`) and the accepted ones among them (`hits`); CLOSED and per DEAL_BAND, its closed deals and
 * the won ones.
 */
export enum FitCountKind {
  DECIDED = "DECIDED",
  COMPANY_SIZE = "COMPANY_SIZE",
  REGION = "REGION",
  INDUSTRY = "INDUSTRY",
  KEYWORD = "KEYWORD",
  CLOSED = "CLOSED",
  DEAL_BAND = "DEAL_BAND",
}

export interface Count {
  total: number;
  hits: number;
}

/** One counter and what to add to it. Values are lower-cased where the model ignores case. */
export interface CountChange extends Count {
  kind: FitCountKind;
  value: string;
}

/** A partner's counters, by kind and value; a counter never seen counts zero. */
export class FitCounts {
  private readonly counts = new Map<string, Count>();

  constructor(changes: Iterable<CountChange> = []) {
    for (const change of changes) this.add(change);
  }

  get(kind: FitCountKind, value = ""): Count {
    return this.counts.get(`${kind}:${value}`) ?? { total: 0, hits: 0 };
  }

  add({ kind, value, total, hits }: CountChange, sign: 1 | -1 = 1): void {
    const count = this.get(kind, value);
    this.counts.set(`${kind}:${value}`, { total: count.total + sign * total, hits: count.hits + sign * hits });
  }

  /** These counts but for one referral's own contribution (a NEGOTIATING referral is in its own history). */
  without(changes: readonly CountChange[]): FitCounts {
    const copy = new FitCounts();
    for (const [key, count] of this.counts) copy.counts.set(key, { ...count });
    for (const change of changes) copy.add(change, -1);
    return copy;
  }

  /** Every counter that is not zero. */
  entries(): CountChange[] {
    return [...this.counts.entries()]
      .filter(([, count]) => count.total !== 0 || count.hits !== 0)
      .map(([key, count]) => ({ kind: key.slice(0, key.indexOf(":")) as FitCountKind, value: key.slice(key.indexOf(":") + 1), ...count }));
  }

  /** The revision of the history: it grows by one with every decision the counters learn from. */
  get revision(): number {
    return this.get(FitCountKind.DECIDED).total + this.get(FitCountKind.CLOSED).total;
  }
}

/** The counters a referral with this outcome (and closed deal, if any) adds to its partner's history. */
export function countsAddedBy(referral: FitFeatures, outcome: Outcome | undefined, won: boolean | null | undefined): CountChange[] {
  const changes: CountChange[] = [];
  if (outcome !== undefined) {
    const count = { total: 1, hits: outcome === "accepted" ? 1 : 0 };
    changes.push(
      { kind: FitCountKind.DECIDED, value: "", ...count },
      { kind: FitCountKind.COMPANY_SIZE, value: referral.companySize, ...count },
      { kind: FitCountKind.REGION, value: referral.region, ...count },
    );
    if (referral.industry !== null) changes.push({ kind: FitCountKind.INDUSTRY, value: referral.industry.toLowerCase(), ...count });
    for (const keyword of new Set(referral.keywords.map((keyword) => keyword.toLowerCase()))) {
      changes.push({ kind: FitCountKind.KEYWORD, value: keyword, ...count });
    }
  }
  if (won !== undefined && won !== null) {
    const count = { total: 1, hits: won ? 1 : 0 };
    changes.push({ kind: FitCountKind.CLOSED, value: "", ...count });
    if (referral.dealBand !== null) changes.push({ kind: FitCountKind.DEAL_BAND, value: referral.dealBand, ...count });
  }
  return changes;
}

/** The outcome and closed deal a move from `before` to `after` adds to the history (what was known before is not news). */
function newsOf(before: ReferralStatus | null, after: ReferralStatus) {
  return {
    outcome: before !== null && outcomeOf(before) !== undefined ? undefined : outcomeOf(after),
    won: before !== null && dealWon(before) !== undefined ? undefined : dealWon(after),
  };
}

/** Whether moving from `before` to `after` teaches the model anything (a decision, or a deal closed). */
export function teaches(before: ReferralStatus | null, after: ReferralStatus): boolean {
  const { outcome, won } = newsOf(before, after);
  return outcome !== undefined || won !== undefined;
}

/** What a referral now in `after` (before: `before`) teaches the model: only what it did not count yet. */
export function countsLearnedFrom(before: ReferralStatus | null, after: ReferralStatus, referral: FitFeatures): CountChange[] {
  const { outcome, won } = newsOf(before, after);
  return countsAddedBy(referral, outcome, won);
}

/** The counters of a list of decided referrals. */
export function countsOf(history: readonly FitExample[]): FitCounts {
  return new FitCounts(history.flatMap((example) => countsAddedBy(example, example.outcome, example.won)));
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

/** Deal-size bands by orders of magnitude: each is below its limit (the last has none). */
export const DEAL_BANDS: readonly { label: string; below?: number }[] = [
  { label: "under 10k", below: 10_000 },
  { label: "10k–100k", below: 100_000 },
  { label: "100k–1M", below: 1_000_000 },
  { label: "1M and more" },
];

/** The band of a deal value, by orders of magnitude, in its currency. */
export function dealBandOf(value: string | null, currency: string | null): string | null {
  if (value === null || currency === null) return null;
  const amount = Number(value);
  const band = DEAL_BANDS.find(({ below }) => below === undefined || amount < below)!;
  return `${band.label} ${currency}`;
}

interface Factor extends Count {
  reason: (hits: number, total: number, positive: boolean) => string;
  prior: number;
}

function rateOf({ hits, total, prior }: Factor): number {
  return (hits + SMOOTHING * prior) / (total + SMOOTHING);
}

function weightOf({ total }: Factor): number {
  return total / (total + SMOOTHING);
}

/** The referral's fit to a history given as a list of decided referrals (which must not contain it). */
export function fitOf(referral: FitFeatures, history: readonly FitExample[]): Fit | null {
  return fitFromCounts(referral, countsOf(history));
}

/** The referral's fit to its partner's history, given as counters (which must not count the referral itself). */
export function fitFromCounts(referral: FitFeatures, counts: FitCounts): Fit | null {
  const decided = counts.get(FitCountKind.DECIDED);
  if (decided.total === 0) return null;
  const prior = (decided.hits + 1) / (decided.total + 2);

  const acceptance = (count: Count, context: string): Factor => ({
    ...count,
    prior,
    reason: (hits, total, positive) =>
      positive
        ? `accepted ${hits} of ${total} referrals ${context}`
        : `declined or ignored ${total - hits} of ${total} referrals ${context}`,
  });

  const keywords = [...new Set(referral.keywords.map((keyword) => keyword.toLowerCase()))];
  const factors: Factor[] = [
    acceptance(
      counts.get(FitCountKind.COMPANY_SIZE, referral.companySize),
      `from companies of ${COMPANY_SIZES[referral.companySize] ?? referral.companySize} employees`,
    ),
    acceptance(counts.get(FitCountKind.REGION, referral.region), `in ${referral.region}`),
  ];
  if (referral.industry !== null) {
    factors.push(acceptance(counts.get(FitCountKind.INDUSTRY, referral.industry.toLowerCase()), `in ${referral.industry}`));
  }
  if (keywords.length > 0) {
    const shared = keywords.map((keyword) => counts.get(FitCountKind.KEYWORD, keyword));
    const pooled = { total: shared.reduce((sum, count) => sum + count.total, 0), hits: shared.reduce((sum, count) => sum + count.hits, 0) };
    factors.push(acceptance(pooled, `about ${keywords.map((keyword) => `“${keyword}”`).join(", ")}`));
  }
  if (referral.dealBand !== null) {
    const closed = counts.get(FitCountKind.CLOSED);
    factors.push({
      ...counts.get(FitCountKind.DEAL_BAND, referral.dealBand),
      prior: (closed.hits + 1) / (closed.total + 2),
      reason: (hits, total, positive) =>
        positive
          ? `won ${hits} of ${total} deals of ${referral.dealBand}`
          : `lost ${total - hits} of ${total} deals of ${referral.dealBand}`,
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

/** The fit of an open referral in `status`: its own decision, if it has one (NEGOTIATING), is left out. */
export function fitOfOpen(referral: FitFeatures, status: ReferralStatus, counts: FitCounts): Fit | null {
  const own = countsAddedBy(referral, outcomeOf(status), dealWon(status));
  return fitFromCounts(referral, own.length === 0 ? counts : counts.without(own));
}
