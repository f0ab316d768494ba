import type { MarketingProfile } from "../partners/index.js";
import type { CompanySize } from "./company-size.js";

export interface RfiTraits {
  keywords: readonly string[];
  companySize: CompanySize;
}

export interface RankedProfile {
  profile: MarketingProfile;
  /** 0..1: 0.7 × share of the RFI's keywords the profile lists + 0.3 × company-size fit. */
  match: number;
}

const KEYWORD_WEIGHT = 0.7;
const SIZE_WEIGHT = 0.3;

/** Whether the profile accepts companies of this size (no preference accepts all). */
export function acceptsCompanySize(profile: MarketingProfile, size: CompanySize): boolean {
  return profile.preferredCompanySizes.length === 0 || profile.preferredCompanySizes.includes(size);
}

/**
 * Whether automatic routing (and a hand-off, and the suggestions) may give the profile a referral at
 * `at`: it holds fewer open referrals than its maxOpenReferrals and is not paused. A customer may
 * still name it.
 */
export function hasRoom(profile: MarketingProfile, at: Date): boolean {
  const full = profile.maxOpenReferrals !== null && profile.openReferrals >= profile.maxOpenReferrals;
  const paused = profile.pausedUntil !== null && profile.pausedUntil.getTime() > at.getTime();
  return !full && !paused;
}

/**
 * How well a profile matches an RFI: keyword overlap (case-insensitive) and company-size preference.
 * A stated preference that includes the size beats no preference.
 */
export function matchOf(profile: MarketingProfile, rfi: RfiTraits): number {
  const offered = new Set(profile.keywords.map((keyword) => keyword.toLowerCase()));
  const wanted = rfi.keywords.map((keyword) => keyword.toLowerCase());
  const keywordShare = wanted.length === 0 ? 0 : wanted.filter((keyword) => offered.has(keyword)).length / wanted.length;
  const sizeFit = profile.preferredCompanySizes.includes(rfi.companySize) ? 1 : 0.5;
  return KEYWORD_WEIGHT * keywordShare + SIZE_WEIGHT * sizeFit;
}

/** Each partner's best profile, best first; ties go to the older profile so routing is repeatable. */
export function bestProfilePerPartner(profiles: readonly MarketingProfile[], rfi: RfiTraits): RankedProfile[] {
  const best = new Map<string, RankedProfile>();
  for (const profile of profiles) {
    const ranked = { profile, match: matchOf(profile, rfi) };
    const current = best.get(profile.partnerId);
    if (!current || compareRanked(ranked, current) < 0) best.set(profile.partnerId, ranked);
  }
  return [...best.values()].sort(compareRanked);
}

function compareRanked(a: RankedProfile, b: RankedProfile): number {
  return b.match - a.match || Number(a.profile.id) - Number(b.profile.id);
}

const MATCH_SHARE = 0.75;
const RESPONSIVENESS_SHARE = 0.25;

export interface RoutedProfile extends RankedProfile {
  /** 0..1: 0.75 × match + 0.25 × the partner's responsiveness score. */
  rank: number;
}

/**
 * Automatic routing: among active profiles in the region that accept the company size and have room
 * at `at` (hasRoom), each partner's best profile, ranked by 0.75 × match + 0.25 × the partner's responsiveness score
 * (0..1, see src/analytics/responsiveness.ts); the first `maxPartners`. Suggestions to a customer
 * whose partner passed rank the same way.
 */
export function routeRfi(
  profiles: readonly MarketingProfile[],
  rfi: RfiTraits,
  maxPartners: number,
  responsivenessOf: (partnerId: string) => number,
  at: Date,
): RoutedProfile[] {
  const eligible = profiles.filter((profile) => profile.active && acceptsCompanySize(profile, rfi.companySize) && hasRoom(profile, at));
  return bestProfilePerPartner(eligible, rfi)
    .map((ranked) => ({ ...ranked, rank: MATCH_SHARE * ranked.match + RESPONSIVENESS_SHARE * responsivenessOf(ranked.profile.partnerId) }))
    .sort((a, b) => b.rank - a.rank || Number(a.profile.id) - Number(b.profile.id))
    .slice(0, maxPartners);
}
