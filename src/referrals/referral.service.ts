import type { DataSource, EntityManager } from "typeorm";
import { badInput } from "../graphql/errors.js";
import type { Rfi } from "../rfis/rfi.entity.js";
import { ReferralAction, respondByOnEntering, targetStatus, type LifecycleWindows } from "./lifecycle.js";
import type { CommittedTransitions } from "./committed-transitions.js";
import { Referral } from "./referral.entity.js";
import { recordTransitions, takeProfilePlaces } from "./record-transitions.js";
import { EntityRows } from "../db/entity-rows.js";
import { changeReferral, type Change } from "./referral-transition.js";
import type { Caller } from "../graphql/caller.js";
import type { PassReason } from "./reason-code.js";

export interface DealEstimate {
  estimatedDealValue: string;
  currency: string;
  estimatedCloseDate: string;
}

export interface WonDeal {
  dealValue?: string | null;
  currency?: string | null;
  closeDate?: string | null;
}

/** Where a new referral goes: a partner, through one of its marketing profiles. */
export interface ReferralTarget {
  partnerId: string;
  profileId: string;
}

const MAX_REASON_LENGTH = 1000;
const MAX_EXTERNAL_REFERENCE_LENGTH = 200;

/** Trimmed text, null when empty; refused when longer than `max`. */
function optionalText(field: string, value: string | null | undefined, max: number): string | null {
  const trimmed = value?.trim() ?? "";
  if (trimmed.length > max) throw badInput(field, `must be at most ${max} characters (got ${trimmed.length})`);
  return trimmed === "" ? null : trimmed;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function estimateNote(referral: Referral): string {
  return `estimate ${referral.estimatedDealValue} ${referral.estimatedCurrency}, closing ${referral.estimatedCloseDate}`;
}

/**
 * A referral's arrival, and what each partner action means: its input checks, the columns it sets and
 * its event's note. How a change is applied (one compare-and-set per transaction) is
 * referral-transition.ts; deadlines expire referrals in sets (referral-expiry.ts).
 */
export class ReferralService {
  private readonly rows: EntityRows<Referral>;

  constructor(
    private readonly db: DataSource,
    private readonly windows: LifecycleWindows,
    private readonly transitions: CommittedTransitions,
  ) {
    this.rows = new EntityRows(db, Referral);
  }

  /**
   * Creates the referrals of a new RFI inside the caller's transaction, each with its arrival event.
   * `withinCapacity` (automatic routing): each profile must have room and not be paused (AtCapacity).
   */
  async receive(em: EntityManager, rfi: Rfi, targets: ReferralTarget[], caller: Caller, withinCapacity = false): Promise<Referral[]> {
    const now = new Date();
    await takeProfilePlaces(
      em,
      targets.map((target) => target.profileId),
      now,
      withinCapacity,
    );
    const status = targetStatus(ReferralAction.RECEIVE)!;
    const respondBy = respondByOnEntering(status, now, this.windows);
    const referrals = await this.rows.insertAll(
      em,
      targets.map((target) => ({
        ...target,
        rfiId: rfi.id,
        region: rfi.region,
        companySize: rfi.companySize,
        industry: rfi.industry,
        status,
        version: 1,
        receivedAt: now,
        updatedAt: now,
        respondBy,
      })),
    );
    await recordTransitions(
      em,
      referrals.map((referral) => ({ action: ReferralAction.RECEIVE, referral })),
      caller.label,
      now,
    );
    return referrals;
  }

  /** Announces referrals created by `receive`, once their transaction has committed. */
  announceReceived(referrals: Referral[]): Promise<void> {
    return this.transitions.committed(referrals.map((referral) => ({ action: ReferralAction.RECEIVE, referral })));
  }

  expressInterest(caller: Caller, id: string, expectedVersion?: number | null): Promise<Referral> {
    return this.apply(caller, id, {
      action: ReferralAction.EXPRESS_INTEREST,
      expectedVersion,
      set: (now) => ({ interestedAt: now, answeredAt: now }),
    });
  }

  ignore(caller: Caller, id: string, why: PassReason = {}, expectedVersion?: number | null): Promise<Referral> {
    return this.pass(ReferralAction.IGNORE, caller, id, why, expectedVersion, (now) => ({ answeredAt: now }));
  }

  accept(caller: Caller, id: string, estimate: DealEstimate, expectedVersion?: number | null): Promise<Referral> {
    const columns = this.estimateColumns(estimate);
    return this.apply(caller, id, {
      action: ReferralAction.ACCEPT,
      expectedVersion,
      set: () => ({ ...columns, acceptedCloseDate: columns.estimatedCloseDate }),
      note: estimateNote,
    });
  }

  decline(caller: Caller, id: string, why: PassReason = {}, expectedVersion?: number | null): Promise<Referral> {
    return this.pass(ReferralAction.DECLINE, caller, id, why, expectedVersion);
  }

  updateEstimate(caller: Caller, id: string, estimate: DealEstimate, expectedVersion?: number | null): Promise<Referral> {
    const columns = this.estimateColumns(estimate);
    return this.apply(caller, id, {
      action: ReferralAction.UPDATE_ESTIMATE,
      expectedVersion,
      set: () => columns,
      note: estimateNote,
    });
  }

  /** Each final figure defaults to the latest estimate; a currency alone would relabel the estimate, so it needs a value. */
  markWon(caller: Caller, id: string, deal: WonDeal | null | undefined, expectedVersion?: number | null): Promise<Referral> {
    if (deal?.currency && !deal.dealValue) {
      throw badInput("input.dealValue", "is required when input.currency is given");
    }
    return this.apply(caller, id, {
      action: ReferralAction.MARK_WON,
      expectedVersion,
      set: () => {
        // The final figures are also the deal as statistics count it from now on.
        const value = deal?.dealValue ?? (() => "estimated_deal_value");
        const currency = deal?.currency ?? (() => "estimated_currency");
        const closeDate = deal?.closeDate ?? (() => "estimated_close_date");
        return {
          finalDealValue: value,
          finalCurrency: currency,
          finalCloseDate: closeDate,
          dealValue: value,
          dealCurrency: currency,
          dealCloseDate: closeDate,
        };
      },
      note: (after) => `won ${after.finalDealValue} ${after.finalCurrency}, closed ${after.finalCloseDate}`,
    });
  }

  markLost(caller: Caller, id: string, why: PassReason = {}, expectedVersion?: number | null): Promise<Referral> {
    return this.pass(ReferralAction.MARK_LOST, caller, id, why, expectedVersion);
  }

  /** No thanks, a decline or a lost deal: the reason's text (also the event's note) and its code, with what else the action sets. */
  private pass(
    action: ReferralAction,
    caller: Caller,
    id: string,
    { reason, reasonCode }: PassReason,
    expectedVersion: number | null | undefined,
    also: (now: Date) => Partial<Referral> = () => ({}),
  ): Promise<Referral> {
    const text = optionalText("reason", reason, MAX_REASON_LENGTH);
    return this.apply(caller, id, {
      action,
      expectedVersion,
      set: (now) => ({ ...also(now), reason: text, reasonCode: reasonCode ?? null }),
      note: () => text,
    });
  }

  setExternalReference(
    caller: Caller,
    id: string,
    externalReferenceId: string | null | undefined,
    expectedVersion?: number | null,
  ): Promise<Referral> {
    const reference = optionalText("externalReferenceId", externalReferenceId, MAX_EXTERNAL_REFERENCE_LENGTH);
    return this.apply(caller, id, {
      action: ReferralAction.SET_EXTERNAL_REFERENCE,
      expectedVersion,
      set: () => ({ externalReferenceId: reference }),
      note: () => (reference === null ? "external reference cleared" : `external reference ${reference}`),
    });
  }

  private estimateColumns(estimate: DealEstimate) {
    if (estimate.estimatedCloseDate < todayUtc()) {
      throw badInput("input.estimatedCloseDate", `must not be in the past (got ${estimate.estimatedCloseDate})`);
    }
    return {
      estimatedDealValue: estimate.estimatedDealValue,
      estimatedCurrency: estimate.currency,
      estimatedCloseDate: estimate.estimatedCloseDate,
      dealValue: estimate.estimatedDealValue,
      dealCurrency: estimate.currency,
      dealCloseDate: estimate.estimatedCloseDate,
    };
  }

  /** A partner's action: applied, or refused with the reason and nothing written; announced after commit. */
  private async apply(caller: Caller, id: string, change: Change): Promise<Referral> {
    const after = await changeReferral(this.db, this.windows, caller, id, change);
    await this.transitions.committed([{ action: change.action, referral: after }]);
    return after;
  }
}
