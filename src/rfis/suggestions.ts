import type { EntityManager } from "typeorm";
import { answerCountsOf } from "../analytics/index.js";
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

/**
 * The best active profiles of the RFI's region, one per partner, ranked as automatic routing ranks
 * them, leaving out `excludedPartnerIds`. Reads the partners' counters, never their history.
 */
export async function rankProfiles(
  q: Reader,
  rfi: RankedRfi,
  limit: number,
  excludedPartnerIds: ReadonlySet<string> = new Set(),
): Promise<RoutedProfile[]> {
  const profiles = (await q.findBy(MarketingProfile, { region: rfi.region, active: true })).filter(
    (profile) => !excludedPartnerIds.has(profile.partnerId),
  );
  const answers = await answerCountsOf(q, [...new Set(profiles.map((profile) => profile.partnerId))]);
  return routeRfi(profiles, rfi, limit, (partnerId) => responsivenessScore(responsivenessFrom(answers.get(partnerId)!)));
}

export interface Suggestion {
  partner: Partner;
  profile: MarketingProfile;
  rank: number;
}

/** How many partners a customer is offered instead of one that passed. */
export const SUGGESTIONS = 3;

/** Other partners a customer may choose for this RFI: active in its region, not yet targeted, best first. */
export async function suggestPartners(q: Reader, rfi: RankedRfi & { id: string }): Promise<Suggestion[]> {
  const targeted: { partnerId: string }[] = await q.query("SELECT CAST(partner_id AS CHAR) AS partnerId FROM referrals WHERE rfi_id = ?", [
    rfi.id,
  ]);
  const ranked = await rankProfiles(q, rfi, SUGGESTIONS, new Set(targeted.map(({ partnerId }) => partnerId)));
  if (ranked.length === 0) return [];
  const partners: Partner[] = await q.findBy(
    Partner,
    ranked.map(({ profile }) => ({ id: profile.partnerId })),
  );
  const byId = new Map(partners.map((partner) => [partner.id, partner]));
  return ranked.map(({ profile, rank }) => ({ partner: byId.get(profile.partnerId)!, profile, rank }));
}
