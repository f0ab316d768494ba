import { createHash } from "node:crypto";
import { In, type DataSource, type EntityManager } from "typeorm";
import type { Caller } from "../auth/caller.js";
import { isDuplicateKey, retryingDeadlocks } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { badInput } from "../graphql/errors.js";
import { normaliseKeywords } from "../partners/keywords.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Referral } from "../referrals/referral.entity.js";
import type { ReferralService, ReferralTarget } from "../referrals/referral.service.js";
import { IdempotencyRecord } from "./idempotency-record.entity.js";
import { Rfi } from "./rfi.entity.js";
import { DEFAULT_MAX_PARTNERS, type SubmitRfiInput } from "./rfi.inputs.js";
import { answerCountsOf } from "../analytics/history-counters.js";
import { responsivenessFrom, responsivenessScore } from "../analytics/responsiveness.js";
import { bestProfilePerPartner, routeRfi } from "./routing.js";

export interface SubmittedRfi {
  rfi: Rfi;
  referrals: Referral[];
}

/** The RFI as submitted, normalised: what the idempotency hash covers and what gets stored. */
interface NormalisedRfi {
  customer: { companyName: string; contactName: string; email: string; phone: string | null };
  need: string;
  companySize: SubmitRfiInput["companySize"];
  industry: string | null;
  region: string;
  keywords: string[];
  partnerIds: string[] | null;
  maxPartners: number;
}

function normalise(input: SubmitRfiInput): NormalisedRfi {
  const { customer } = input;
  return {
    customer: {
      companyName: customer.companyName.trim(),
      contactName: customer.contactName.trim(),
      email: customer.email,
      phone: customer.phone?.trim() || null,
    },
    need: input.need.trim(),
    companySize: input.companySize,
    industry: input.industry?.trim() || null,
    region: input.region,
    keywords: normaliseKeywords(input.keywords ?? []),
    partnerIds: input.partnerIds && input.partnerIds.length > 0 ? [...new Set(input.partnerIds)] : null,
    maxPartners: input.maxPartners ?? DEFAULT_MAX_PARTNERS,
  };
}

/** The same RFI whatever the order its partners were named in. */
function hashOf(rfi: NormalisedRfi): string {
  const partnerIds = rfi.partnerIds && [...rfi.partnerIds].sort();
  return createHash("sha256").update(JSON.stringify({ ...rfi, partnerIds })).digest("hex");
}

export class RfiService {
  constructor(
    private readonly db: DataSource,
    private readonly referrals: ReferralService,
  ) {}

  /**
   * One RFI and one referral per targeted partner, in one transaction. With an idempotency key, the
   * key's record is inserted first: concurrent retries wait on its unique index, then return the
   * first submission (or are refused when their input differs).
   */
  async submit(caller: Caller, input: SubmitRfiInput): Promise<SubmittedRfi> {
    const rfi = normalise(input);
    const key = input.idempotencyKey?.trim();
    if (!key) return this.announced(await this.db.transaction((em) => this.create(em, caller, rfi)));

    const requestHash = hashOf(rfi);
    // InnoDB may pick a waiting retry as a deadlock victim when the first submission rolls back.
    try {
      const submitted = await retryingDeadlocks(() =>
        this.db.transaction(async (em) => {
          const record = em.create(IdempotencyRecord, {
            apiKeyId: caller.keyId,
            idempotencyKey: key,
            requestHash,
            rfiId: null,
            createdAt: new Date(),
          });
          await em.insert(IdempotencyRecord, record);
          const submitted = await this.create(em, caller, rfi);
          await em.update(IdempotencyRecord, { id: record.id }, { rfiId: submitted.rfi.id });
          return submitted;
        }),
      );
      return await this.announced(submitted);
    } catch (error) {
      if (isDuplicateKey(error, "uq_idempotency_records_key")) return this.replay(caller, key, requestHash);
      throw error;
    }
  }

  private async announced(submitted: SubmittedRfi): Promise<SubmittedRfi> {
    await this.referrals.announceReceived(submitted.referrals);
    return submitted;
  }

  private async replay(caller: Caller, key: string, requestHash: string): Promise<SubmittedRfi> {
    const record = await this.db
      .getRepository(IdempotencyRecord)
      .findOneByOrFail({ apiKeyId: caller.keyId, idempotencyKey: key });
    if (record.requestHash !== requestHash) {
      throw badInput("input.idempotencyKey", "was already used for a different RFI; use a new key for new input");
    }
    const rfi = await this.db.getRepository(Rfi).findOneByOrFail({ id: record.rfiId! });
    const referrals = await this.db.getRepository(Referral).find({ where: { rfiId: rfi.id }, order: { id: "ASC" } });
    return { rfi, referrals };
  }

  private async create(em: EntityManager, caller: Caller, input: NormalisedRfi): Promise<SubmittedRfi> {
    const targets = await this.targets(em, input);
    const rfi = em.create(Rfi, {
      need: input.need,
      companySize: input.companySize,
      industry: input.industry,
      region: input.region,
      keywords: input.keywords,
      customerCompanyName: input.customer.companyName,
      customerContactName: input.customer.contactName,
      customerEmail: input.customer.email,
      customerPhone: input.customer.phone,
      submittedAt: new Date(),
      submittedByKeyId: caller.keyId,
    });
    await em.insert(Rfi, rfi);
    const referrals = await this.referrals.receive(em, rfi, targets, { label: caller.label });
    return { rfi, referrals };
  }

  /** The named partners' best active profiles in the region, or the best-matching profiles there. */
  private async targets(em: EntityManager, input: NormalisedRfi): Promise<ReferralTarget[]> {
    const inRegion = { region: input.region, active: true };
    if (input.partnerIds === null) {
      const profiles = await em.findBy(MarketingProfile, inRegion);
      // The partners' counters, read in this transaction: never a second connection, never the history.
      const answers = await answerCountsOf(em, [...new Set(profiles.map((profile) => profile.partnerId))]);
      const routed = routeRfi(profiles, input, input.maxPartners, (partnerId) =>
        responsivenessScore(responsivenessFrom(answers.get(partnerId)!)),
      );
      if (routed.length === 0) {
        throw badInput("input.region", `no active marketing profile in ${input.region} takes this RFI`);
      }
      return routed.map(({ profile }) => ({ partnerId: profile.partnerId, profileId: profile.id }));
    }

    const validIds = input.partnerIds.filter(isRowId);
    const profiles = validIds.length > 0 ? await em.findBy(MarketingProfile, { ...inRegion, partnerId: In(validIds) }) : [];
    const best = new Map(bestProfilePerPartner(profiles, input).map(({ profile }) => [profile.partnerId, profile]));
    const missing = input.partnerIds.find((partnerId) => !best.has(partnerId));
    if (missing !== undefined) {
      throw badInput("input.partnerIds", `partner ${missing} has no active marketing profile in ${input.region}`);
    }
    return input.partnerIds.map((partnerId) => ({ partnerId, profileId: best.get(partnerId)!.id }));
  }
}
