import type { EntityManager } from "typeorm";
import { answerCountsOf, type AnswerCounts } from "../analytics/index.js";
import { responsivenessFrom, responsivenessScore } from "../analytics/index.js";
import { MarketingProfile } from "../partners/index.js";
import { Partner } from "../partners/index.js";
import type { CompanySize } from "./company-size.js";
import { routeRfi, type RoutedProfile } from "./routing.js";

type Reader = Pick<EntityManager, "query" | "findBy">;

/** What ranking needs of an RFI. */
export interface RankedRfi {
  region: string;
  companySize: CompanySize;
  keywords: readonly string[];
}

/** What ranking reads of a region: its active profiles and their partners' answer counters (never their history). */
export interface RegionCandidates {
  profiles: MarketingProfile[];
  answers: Map<string, AnswerCounts>;
}

export async function readCandidates(q: Reader, region: string): Promise<RegionCandidates> {
  const profiles = await q.findBy(MarketingProfile, { region, active: true });
  return { profiles, answers: await answerCountsOf(q, [...new Set(profiles.map((profile) => profile.partnerId))]) };
}

/**
 * The best of a region's profiles, one per partner, ranked as automatic routing ranks them, leaving
 * out `excludedPartnerIds`. Reads nothing: the candidates may be shared by concurrent requests.
 */
export function rankCandidates(
  { profiles, answers }: RegionCandidates,
  rfi: RankedRfi,
  limit: number,
  excludedPartnerIds: ReadonlySet<string> = new Set(),
): RoutedProfile[] {
  const open = excludedPartnerIds.size === 0 ? profiles : profiles.filter((profile) => !excludedPartnerIds.has(profile.partnerId));
  return routeRfi(open, rfi, limit, (partnerId) => responsivenessScore(responsivenessFrom(answers.get(partnerId)!)), new Date());
}

export interface Suggestion {
  partner: Partner;
  profile: MarketingProfile;
  rank: number;
}

/** How many partners a customer is offered instead of one that passed. */
export const SUGGESTIONS = 3;

/** Other partners a customer may choose for this RFI: active in its region with room, not yet targeted, best first. */
export async function suggestPartners(q: Reader, rfi: RankedRfi & { id: string }): Promise<Suggestion[]> {
  const targeted: { partnerId: string }[] = await q.query("SELECT CAST(partner_id AS CHAR) AS partnerId FROM referrals WHERE rfi_id = ?", [
    rfi.id,
  ]);
  const candidates = await readCandidates(q, rfi.region);
  const ranked = rankCandidates(candidates, rfi, SUGGESTIONS, new Set(targeted.map(({ partnerId }) => partnerId)));
  if (ranked.length === 0) return [];
  const partners: Partner[] = await q.findBy(
    Partner,
    ranked.map(({ profile }) => ({ id: profile.partnerId })),
  );
  const byId = new Map(partners.map((partner) => [partner.id, partner]));
  return ranked.map(({ profile, rank }) => ({ partner: byId.get(profile.partnerId)!, profile, rank }));
}
