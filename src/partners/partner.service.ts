import type { DataSource, EntityManager } from "typeorm";
import { canActForPartner, type Caller } from "../graphql/caller.js";
import { Role } from "../graphql/role.js";
import { isDuplicateKey } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { badInput, notFound } from "../graphql/errors.js";
import { normaliseKeywords } from "./keywords.js";
import { Locale } from "../notifications/locale.js";
import { MarketingProfile } from "./marketing-profile.entity.js";
import { Partner } from "./partner.entity.js";
import { MAX_NAME_LENGTH, type MarketingProfileInput } from "./partner.inputs.js";

const FIRST_KEY_SUFFIX = " (first key)";
/** How far ahead a profile may be paused. */
const LONGEST_PAUSE_MS = 366 * 86_400_000;

/** A pause as given: null (none), or an instant in the future at most a year ahead. */
function checkedPause(until: Date | null, now: Date): Date | null {
  if (until === null) return null;
  if (until.getTime() <= now.getTime()) throw badInput("input.pausedUntil", "must be in the future (null ends a pause)");
  if (until.getTime() > now.getTime() + LONGEST_PAUSE_MS) throw badInput("input.pausedUntil", "must be at most a year ahead");
  return until;
}

/** What an update changes of the profile's capacity: only what the input names (null clears it). */
function capacityChanges(input: MarketingProfileInput, now: Date): Partial<Pick<MarketingProfile, "maxOpenReferrals" | "pausedUntil">> {
  return {
    ...(input.maxOpenReferrals === undefined ? {} : { maxOpenReferrals: input.maxOpenReferrals }),
    ...(input.pausedUntil === undefined ? {} : { pausedUntil: checkedPause(input.pausedUntil, now) }),
  };
}

/** The first key's label: the partner's name, cut (by characters) so the label fits a label column like any other. */
function firstKeyLabel(name: string): string {
  return (
    Array.from(name)
      .slice(0, MAX_NAME_LENGTH - FIRST_KEY_SUFFIX.length)
      .join("") + FIRST_KEY_SUFFIX
  );
}

export interface CreatedPartner {
  partner: Partner;
  apiKey: string;
}

/**
 * Issues a new partner's first key in the partner's transaction (the API keys' service, passed in by
 * src/app/: keys know partners, partners need not know keys).
 */
export interface FirstKeyIssuer {
  issue(input: { role: Role; partnerId: string; label: string }, em: EntityManager): Promise<{ secret: string }>;
}

export class PartnerService {
  constructor(
    private readonly db: DataSource,
    private readonly apiKeys: FirstKeyIssuer,
  ) {}

  /** Partners by name; with a region, those with an active profile there (what a customer may choose from). */
  list(region: string | null): Promise<Partner[]> {
    const query = this.db.getRepository(Partner).createQueryBuilder("partner").orderBy("partner.name", "ASC");
    if (region) {
      query.where("EXISTS (SELECT 1 FROM marketing_profiles p WHERE p.partner_id = partner.id AND p.region = :region AND p.active = 1)", {
        region,
      });
    }
    return query.getMany();
  }

  /** A partner and its first PARTNER key, together or not at all. */
  async create(name: string): Promise<CreatedPartner> {
    const trimmed = name.trim();
    try {
      return await this.db.transaction(async (em) => {
        const partner = em.create(Partner, { name: trimmed, createdAt: new Date() });
        await em.insert(Partner, partner);
        const { secret } = await this.apiKeys.issue({ role: Role.PARTNER, partnerId: partner.id, label: firstKeyLabel(trimmed) }, em);
        return { partner, apiKey: secret };
      });
    } catch (error) {
      if (isDuplicateKey(error, "uq_partners_name")) throw badInput("input.name", `a partner named "${trimmed}" exists`);
      throw error;
    }
  }

  /** Creates a profile, or updates the partner's profile `id`. Another partner's profile is not found. */
  async upsertProfile(
    caller: Caller,
    partnerId: string,
    id: string | null | undefined,
    input: MarketingProfileInput,
  ): Promise<MarketingProfile> {
    if (!isRowId(partnerId) || !canActForPartner(caller, partnerId)) throw notFound(`partner ${partnerId}`);
    const repository = this.db.getRepository(MarketingProfile);
    const now = new Date();
    const fields = {
      region: input.region,
      location: input.location.trim(),
      contactEmail: input.contactEmail,
      keywords: normaliseKeywords(input.keywords),
      preferredCompanySizes: [...new Set(input.preferredCompanySizes)],
      updatedAt: now,
      ...capacityChanges(input, now),
    };
    try {
      if (id === null || id === undefined) {
        if (!(await this.db.getRepository(Partner).existsBy({ id: partnerId }))) throw notFound(`partner ${partnerId}`);
        const profile = repository.create({
          // A new profile has no limit and no pause unless the input sets them (in `fields`, checked).
          maxOpenReferrals: null,
          pausedUntil: null,
          openReferrals: 0,
          ...fields,
          partnerId,
          active: input.active ?? true,
          locale: input.locale ?? Locale.EN,
          createdAt: now,
        });
        await repository.insert(profile);
        return profile;
      }
      const active = input.active === null || input.active === undefined ? {} : { active: input.active };
      const locale = input.locale === null || input.locale === undefined ? {} : { locale: input.locale };
      const changed = isRowId(id) ? await repository.update({ id, partnerId }, { ...fields, ...active, ...locale }) : undefined;
      if (!changed?.affected) throw notFound(`marketing profile ${id} of partner ${partnerId}`);
      return repository.findOneByOrFail({ id });
    } catch (error) {
      if (isDuplicateKey(error, "uq_marketing_profiles_partner_region_location")) {
        throw badInput("input.location", `partner ${partnerId} already has a profile for ${fields.region} / ${fields.location}`);
      }
      throw error;
    }
  }
}
