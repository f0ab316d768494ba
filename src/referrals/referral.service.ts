import type { DataSource, EntityManager } from "typeorm";
import { partnerScope, type Caller } from "../auth/caller.js";
import { countChanges } from "../analytics/history-counters.js";
import { retryingDeadlocks } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { AppError, badInput, ErrorCode, notFound } from "../graphql/errors.js";
import {
  allowedFrom,
  columnsOnEntering,
  initiatorOf,
  ReferralAction,
  respondByOnEntering,
  statusBefore,
  targetStatus,
  type LifecycleWindows,
} from "./lifecycle.js";
import { writeOutgoing } from "../outbox/outgoing.js";
import type { Rfi } from "../rfis/rfi.entity.js";
import type { ReferralChanges } from "./referral-changes.js";
import { Referral, ReferralEvent } from "./referral.entity.js";

/** Who changes a referral: a key, confined to its partner when it is a PARTNER key. (Deadlines: referral-expiry.ts.) */
export interface Actor {
  label: string;
  /** When set, only this partner's referrals can be changed. */
  partnerId?: string;
}

export function actorOf(caller: Caller): Actor {
  return { label: caller.label, partnerId: partnerScope(caller) };
}

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

type ColumnChanges = Partial<Record<keyof Referral, unknown>>;

interface Change {
  action: ReferralAction;
  expectedVersion?: number | null;
  /** Columns the action sets beyond status, version, updatedAt, respondBy and closedAt. */
  set?: (now: Date) => ColumnChanges;
  /** The event's note, from the referral as the change left it. */
  note?: (after: Referral) => string | null;
}

export const MAX_REASON_LENGTH = 1000;
export const MAX_EXTERNAL_REFERENCE_LENGTH = 200;

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
 * Every change of a referral by a partner, and its arrival. Each is one transaction: a compare-and-set
 * UPDATE on the expected status (and version when given, and partner for PARTNER keys), then one
 * event row and the partner's counters. When the UPDATE matches nothing, nothing was written and the
 * error says why. Deadlines expire referrals in sets (referral-expiry.ts).
 */
export class ReferralService {
  constructor(
    private readonly db: DataSource,
    private readonly windows: LifecycleWindows,
    private readonly changes: ReferralChanges,
  ) {}

  /** Creates the referrals of a new RFI inside the caller's transaction, each with its arrival event. */
  async receive(em: EntityManager, rfi: Rfi, targets: ReferralTarget[], actor: Actor): Promise<Referral[]> {
    const now = new Date();
    const status = targetStatus(ReferralAction.RECEIVE)!;
    const referrals: Referral[] = [];
    for (const target of targets) {
      const referral = em.create(Referral, {
        ...target,
        rfiId: rfi.id,
        region: rfi.region,
        companySize: rfi.companySize,
        industry: rfi.industry,
        status,
        version: 1,
        receivedAt: now,
        updatedAt: now,
        respondBy: respondByOnEntering(status, now, this.windows),
      });
      await em.insert(Referral, referral);
      referrals.push(await em.findOneByOrFail(Referral, { id: referral.id }));
    }
    await em.insert(
      ReferralEvent,
      referrals.map((referral) => ({
        referralId: referral.id,
        partnerId: referral.partnerId,
        version: referral.version,
        action: ReferralAction.RECEIVE,
        at: now,
        from: null,
        to: status,
        actor: actor.label,
        note: null,
      })),
    );
    await writeOutgoing(
      em,
      ReferralAction.RECEIVE,
      status,
      referrals.map((referral) => referral.id),
      now,
    );
    return referrals;
  }

  /** Announces referrals created by `receive`, once their transaction has committed. */
  announceReceived(referrals: Referral[]): Promise<void> {
    return this.changes.committed(referrals.map((referral) => ({ kind: "received", action: ReferralAction.RECEIVE, referral })));
  }

  expressInterest(actor: Actor, id: string, expectedVersion?: number | null): Promise<Referral> {
    return this.apply(actor, id, {
      action: ReferralAction.EXPRESS_INTEREST,
      expectedVersion,
      set: (now) => ({ interestedAt: now, answeredAt: now }),
    });
  }

  ignore(actor: Actor, id: string, reason?: string | null, expectedVersion?: number | null): Promise<Referral> {
    const why = optionalText("reason", reason, MAX_REASON_LENGTH);
    return this.apply(actor, id, {
      action: ReferralAction.IGNORE,
      expectedVersion,
      set: (now) => ({ answeredAt: now, reason: why }),
      note: () => why,
    });
  }

  accept(actor: Actor, id: string, estimate: DealEstimate, expectedVersion?: number | null): Promise<Referral> {
    const columns = this.estimateColumns(estimate);
    return this.apply(actor, id, {
      action: ReferralAction.ACCEPT,
      expectedVersion,
      set: () => ({ ...columns, acceptedCloseDate: columns.estimatedCloseDate }),
      note: estimateNote,
    });
  }

  decline(actor: Actor, id: string, reason?: string | null, expectedVersion?: number | null): Promise<Referral> {
    const why = optionalText("reason", reason, MAX_REASON_LENGTH);
    return this.apply(actor, id, {
      action: ReferralAction.DECLINE,
      expectedVersion,
      set: () => ({ reason: why }),
      note: () => why,
    });
  }

  updateEstimate(actor: Actor, id: string, estimate: DealEstimate, expectedVersion?: number | null): Promise<Referral> {
    const columns = this.estimateColumns(estimate);
    return this.apply(actor, id, {
      action: ReferralAction.UPDATE_ESTIMATE,
      expectedVersion,
      set: () => columns,
      note: estimateNote,
    });
  }

  /** Each final figure defaults to the latest estimate; a currency alone would relabel the estimate, so it needs a value. */
  markWon(actor: Actor, id: string, deal: WonDeal | null | undefined, expectedVersion?: number | null): Promise<Referral> {
    if (deal?.currency && !deal.dealValue) {
      throw badInput("input.dealValue", "is required when input.currency is given");
    }
    return this.apply(actor, id, {
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

  markLost(actor: Actor, id: string, reason?: string | null, expectedVersion?: number | null): Promise<Referral> {
    const why = optionalText("reason", reason, MAX_REASON_LENGTH);
    return this.apply(actor, id, {
      action: ReferralAction.MARK_LOST,
      expectedVersion,
      set: () => ({ reason: why }),
      note: () => why,
    });
  }

  setExternalReference(
    actor: Actor,
    id: string,
    externalReferenceId: string | null | undefined,
    expectedVersion?: number | null,
  ): Promise<Referral> {
    const reference = optionalText("externalReferenceId", externalReferenceId, MAX_EXTERNAL_REFERENCE_LENGTH);
    return this.apply(actor, id, {
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

  /** A partner's action: applied, or refused with the reason and nothing written. */
  private async apply(actor: Actor, id: string, change: Change): Promise<Referral> {
    if (initiatorOf(change.action) !== "partner") throw new Error(`${change.action} is the system's to take, not a key's`);
    if (!isRowId(id)) throw notFound(`referral ${id}`);
    // Two decisions of one partner share its counters; InnoDB may roll one back as a deadlock victim.
    const after = await retryingDeadlocks(() =>
      this.db.transaction(async (em) => {
        const changed = await this.compareAndSet(em, actor, id, change, new Date());
        if (!changed) throw await this.refusal(em, actor, id, change);
        return changed;
      }),
    );
    await this.changes.committed([{ kind: "updated", action: change.action, referral: after }]);
    return after;
  }

  /**
   * The transition itself (see the class comment): one compare-and-set UPDATE, then its event and counters.
   * Null when the UPDATE matched no row, in which case nothing was written.
   */
  private async compareAndSet(em: EntityManager, actor: Actor, id: string, change: Change, now: Date): Promise<Referral | null> {
    const to = targetStatus(change.action);
    const columns: ColumnChanges = {
      ...change.set?.(now),
      ...(to === undefined ? {} : columnsOnEntering(to, now, this.windows)),
      version: () => "version + 1",
      updatedAt: now,
    };
    const update = em
      .createQueryBuilder()
      .update(Referral)
      .set(columns as never)
      .where("id = :id", { id })
      .andWhere("status IN (:...from)", { from: allowedFrom(change.action) });
    if (actor.partnerId !== undefined) update.andWhere("partner_id = :partnerId", { partnerId: actor.partnerId });
    if (change.expectedVersion != null) update.andWhere("version = :version", { version: change.expectedVersion });
    const { affected } = await update.execute();
    if (!affected) return null;

    const after = await em.findOneByOrFail(Referral, { id });
    await em.insert(ReferralEvent, {
      referralId: id,
      partnerId: after.partnerId,
      version: after.version,
      action: change.action,
      at: now,
      from: statusBefore(change.action, after.status),
      to: after.status,
      actor: actor.label,
      note: change.note?.(after) ?? null,
    });
    await countChanges(em, [{ action: change.action, referral: after }]);
    await writeOutgoing(em, change.action, after.status, [id], now);
    return after;
  }

  /** Why the compare-and-set matched no row: unknown (or not the actor's), wrong status, or stale version. */
  private async refusal(em: EntityManager, actor: Actor, id: string, change: Change): Promise<AppError> {
    const current = await em.findOne(Referral, {
      where: { id },
      select: { id: true, status: true, version: true, partnerId: true },
    });
    if (!current || (actor.partnerId !== undefined && current.partnerId !== actor.partnerId)) {
      return notFound(`referral ${id}`);
    }
    const from = allowedFrom(change.action);
    if (!from.includes(current.status)) {
      const allowed = from.length > 0 ? `only from ${from.join(", ")}` : "never";
      return new AppError(ErrorCode.INVALID_TRANSITION, `cannot ${change.action} referral ${id} in ${current.status} (${allowed})`, {
        status: current.status,
        action: change.action,
      });
    }
    const expected = change.expectedVersion == null ? "" : `, not ${change.expectedVersion}`;
    return new AppError(
      ErrorCode.STALE_VERSION,
      `referral ${id} is at version ${current.version}${expected}: read it again before changing it`,
      { currentVersion: current.version },
    );
  }
}
