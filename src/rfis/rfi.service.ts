import { createHash } from "node:crypto";
import { In, type DataSource, type EntityManager } from "typeorm";
import type { Caller } from "../graphql/caller.js";
import { isDuplicateKey, retryingDeadlocks } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { EntityRows } from "../db/entity-rows.js";
import { badInput, notFound, serviceUnavailable } from "../graphql/errors.js";
import { Locale } from "../notifications/locale.js";
import { normaliseKeywords } from "../partners/index.js";
import { MarketingProfile } from "../partners/index.js";
import { Referral } from "../referrals/referral.entity.js";
import type { ReferralService, ReferralTarget } from "../referrals/referral.service.js";
import { AtCapacity } from "../referrals/record-transitions.js";
import { IdempotencyRecord } from "./idempotency-record.entity.js";
import { Rfi } from "./rfi.entity.js";
import { DEFAULT_MAX_PARTNERS, MAX_PARTNERS, type SubmitRfiInput } from "./rfi.inputs.js";
import { bestProfilePerPartner } from "./routing.js";
import { CandidateReads } from "./candidate-reads.js";
import { emailDomain, normalisedEmail, type DuplicateFinder } from "./duplicates.js";
import { rankCandidates, suggestPartners, type Suggestion } from "./suggestions.js";

/** Routings of one submission, each reading the profiles again, before it gives up on a race with their capacity. */
const CAPACITY_ATTEMPTS = 3;

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
  locale: Locale;
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
    locale: input.locale ?? Locale.EN,
  };
}

/** The same RFI whatever the order its partners were named in. */
function hashOf(rfi: NormalisedRfi): string {
  const partnerIds = rfi.partnerIds && [...rfi.partnerIds].sort();
  // The default language leaves the hash as it was before languages existed: older keys still replay.
  const { locale, ...rest } = rfi;
  return createHash("sha256")
    .update(JSON.stringify({ ...rest, partnerIds, ...(locale === Locale.EN ? {} : { locale }) }))
    .digest("hex");
}

export class RfiService {
  private readonly rfiRows: EntityRows<Rfi>;
  private readonly candidates: CandidateReads;

  constructor(
    private readonly db: DataSource,
    private readonly referrals: ReferralService,
    private readonly duplicates: DuplicateFinder,
  ) {
    this.rfiRows = new EntityRows(db, Rfi);
    this.candidates = new CandidateReads(db);
  }

  /**
   * One RFI and one referral per targeted partner. The targets are found before the transaction, which
   * holds only the inserts: the RFI, its referrals and their events, then the idempotency key's
   * record. Concurrent retries of a key wait on the record's unique index for the first submission's
   * commit, then return it (or are refused when their input differs).
   */
  async submit(caller: Caller, input: SubmitRfiInput): Promise<SubmittedRfi> {
    const rfi = normalise(input);
    const key = input.idempotencyKey?.trim();
    const requestHash = key ? hashOf(rfi) : "";
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.submitTo(caller, rfi, await this.targets(rfi), key, requestHash);
      } catch (error) {
        // A profile routing chose filled up (or paused) meanwhile: routing reads again, without it.
        if (!(error instanceof AtCapacity)) throw error;
        if (attempt === CAPACITY_ATTEMPTS) throw serviceUnavailable("the partners' capacity changed while routing; try again");
      }
    }
  }

  private async submitTo(
    caller: Caller,
    rfi: NormalisedRfi,
    targets: ReferralTarget[],
    key: string | undefined,
    requestHash: string,
  ): Promise<SubmittedRfi> {
    try {
      // InnoDB may roll a submission back in a lock conflict (with a decision's outgoing messages, say,
      // or a waiting retry of the same key when the first submission rolls back): it runs again.
      const submitted = await retryingDeadlocks(() =>
        this.db.transaction(async (em) => {
          const submitted = await this.create(em, caller, rfi, targets);
          if (key) {
            await em.insert(IdempotencyRecord, {
              apiKeyId: caller.keyId,
              idempotencyKey: key,
              requestHash,
              rfiId: submitted.rfi.id,
              createdAt: new Date(),
            });
          }
          return submitted;
        }),
      );
      return await this.announced(submitted);
    } catch (error) {
      if (key && isDuplicateKey(error, "uq_idempotency_records_key")) return this.replay(caller, key, requestHash);
      throw error;
    }
  }

  private async announced(submitted: SubmittedRfi): Promise<SubmittedRfi> {
    await this.referrals.announceReceived(submitted.referrals);
    return submitted;
  }

  private async replay(caller: Caller, key: string, requestHash: string): Promise<SubmittedRfi> {
    const record = await this.db.getRepository(IdempotencyRecord).findOneByOrFail({ apiKeyId: caller.keyId, idempotencyKey: key });
    if (record.requestHash !== requestHash) {
      throw badInput("input.idempotencyKey", "was already used for a different RFI; use a new key for new input");
    }
    const rfi = await this.db.getRepository(Rfi).findOneByOrFail({ id: record.rfiId! });
    const referrals = await this.db.getRepository(Referral).find({ where: { rfiId: rfi.id }, order: { id: "ASC" } });
    return { rfi, referrals };
  }

  private async create(em: EntityManager, caller: Caller, input: NormalisedRfi, targets: ReferralTarget[]): Promise<SubmittedRfi> {
    const rfi = await this.rfiRows.insert(em, {
      need: input.need,
      companySize: input.companySize,
      industry: input.industry,
      region: input.region,
      keywords: input.keywords,
      customerCompanyName: input.customer.companyName,
      customerContactName: input.customer.contactName,
      customerEmail: input.customer.email,
      customerEmailNormalised: normalisedEmail(input.customer.email),
      customerDomain: emailDomain(input.customer.email),
      customerPhone: input.customer.phone,
      locale: input.locale,
      submittedAt: new Date(),
      submittedByKeyId: caller.keyId,
    });
    // Automatic routing fills no profile past its capacity; a customer's own choice is never refused.
    const referrals = await this.referrals.receive(em, rfi, targets, caller, input.partnerIds === null);
    return { rfi, referrals };
  }

  /** The named partners' best active profiles in the region, or the best-ranked profiles there. */
  private async targets(input: NormalisedRfi): Promise<ReferralTarget[]> {
    if (input.partnerIds !== null) return namedTargets(this.db.manager, input, input.partnerIds, "input.partnerIds");
    const routed = rankCandidates(await this.candidates.of(input.region), input, input.maxPartners);
    if (routed.length === 0) {
      throw badInput("input.region", `no active marketing profile in ${input.region} takes this RFI`);
    }
    return routed.map(({ profile }) => ({ partnerId: profile.partnerId, profileId: profile.id }));
  }

  /** Every referral the RFI became, oldest first. */
  referralsOf(rfiId: string): Promise<Referral[]> {
    return this.db.getRepository(Referral).find({ where: { rfiId }, order: { id: "ASC" } });
  }

  possibleDuplicatesOf(rfi: Rfi): Promise<Rfi[]> {
    return this.duplicates.ofRfi(rfi);
  }

  suggestionsFor(rfi: Rfi): Promise<Suggestion[]> {
    return suggestPartners(this.db.manager, rfi);
  }

  /**
   * More partners for an RFI: one new referral each, alerted like any other. A partner already
   * targeted (the unique index on RFI and partner decides, whatever runs beside it) or without an
   * active profile in the region is refused with BAD_USER_INPUT, and nothing is created.
   */
  async extend(caller: Caller, rfiId: string, partnerIds: readonly string[]): Promise<Referral[]> {
    if (!isRowId(rfiId)) throw notFound(`RFI ${rfiId}`);
    const wanted = [...new Set(partnerIds)];
    if (wanted.length === 0) throw badInput("partnerIds", "must name at least one partner");
    if (wanted.length > MAX_PARTNERS) throw badInput("partnerIds", `must name at most ${MAX_PARTNERS} partners`);
    const referrals = await retryingDeadlocks(() =>
      this.db.transaction(async (em) => {
        const rfi = await em.findOneBy(Rfi, { id: rfiId });
        if (!rfi) throw notFound(`RFI ${rfiId}`);
        const targets = await namedTargets(em, rfi, wanted, "partnerIds");
        try {
          return await this.referrals.receive(em, rfi, targets, caller);
        } catch (error) {
          if (!isDuplicateKey(error, "uq_referrals_rfi_partner")) throw error;
          // A locking read: this transaction's snapshot predates the referral that won.
          const [{ partnerId }] = await em.query(
            "SELECT CAST(partner_id AS CHAR) AS partnerId FROM referrals WHERE rfi_id = ? AND partner_id IN (?) ORDER BY id LIMIT 1 LOCK IN SHARE MODE",
            [rfiId, wanted],
          );
          throw badInput("partnerIds", `partner ${partnerId} is already targeted by RFI ${rfiId}`);
        }
      }),
    );
    await this.referrals.announceReceived(referrals);
    return referrals;
  }
}

/** Each named partner's best active profile in the region; refused, naming the first partner without one. */
async function namedTargets(
  em: EntityManager,
  rfi: { region: string; keywords: string[]; companySize: NormalisedRfi["companySize"] },
  partnerIds: readonly string[],
  field: string,
): Promise<ReferralTarget[]> {
  const inRegion = { region: rfi.region, active: true };
  const validIds = partnerIds.filter(isRowId);
  const profiles = validIds.length > 0 ? await em.findBy(MarketingProfile, { ...inRegion, partnerId: In(validIds) }) : [];
  const best = new Map(bestProfilePerPartner(profiles, rfi).map(({ profile }) => [profile.partnerId, profile]));
  const missing = partnerIds.find((partnerId) => !best.has(partnerId));
  if (missing !== undefined) throw badInput(field, `partner ${missing} has no active marketing profile in ${rfi.region}`);
  return partnerIds.map((partnerId) => ({ partnerId, profileId: best.get(partnerId)!.id }));
}
