import type { GraphQLResolveInfo } from "graphql";
import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  Float,
  ID,
  Info,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { whenLoaded } from "../graphql/loaders.js";
import { selects } from "../graphql/selection.js";
import { listCost } from "../graphql/limits.js";
import { pagedListCost } from "../graphql/paging.js";
import { MarketingProfile } from "../partners/index.js";
import { Partner } from "../partners/index.js";
import { CustomerDetails, customerOf, overviewOf, RfiOverview } from "../rfis/rfi.entity.js";
import { isArchived, partnerSeesCustomer, ReferralStage, stageOf } from "./lifecycle.js";
import { Money, moneyOf } from "./money.js";
import { ReasonCode } from "./reason-code.js";
import { Referral, ReferralEvent } from "./referral.entity.js";
import { AcceptReferralInput, ReferralConnection, ReferralFilter, ReferralOrder, WonReferralInput } from "./referral.inputs.js";
import { rfiById } from "../rfis/rfi.loaders.js";
import { partnerById, profileById } from "../partners/index.js";
import { eventsOfReferral } from "./referral.loaders.js";
import { ReferralFinder } from "./referral.finder.js";
import { ReferralService } from "./referral.service.js";

@ArgsType()
class ReferralsArgs {
  @Field(() => ReferralFilter, { nullable: true })
  filter?: ReferralFilter | null;

  @Field(() => ReferralOrder, { nullable: true, description: "Default: RECEIVED_AT DESC, newest first." })
  orderBy?: ReferralOrder | null;

  @Field(() => Int, { nullable: true, description: "Page size: 20 by default, at most 100." })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The endCursor of the previous page." })
  after?: string | null;
}

/** What the cost limit assumes of a referral's audit trail. */
const TYPICAL_EVENTS = 10;
const PARTNER_OR_ADMIN = [Role.PARTNER, Role.ADMIN];
const expectedVersionArg = { nullable: true, description: "Refuse the change with STALE_VERSION unless the referral is at this version." };
const reasonArg = { nullable: true, description: "Why, in words (at most 1,000 characters)." };
const reasonCodeArg = { nullable: true, description: "Why, coded for statistics (beside the words, or instead of them)." };

@Resolver(() => Referral)
export class ReferralResolver {
  constructor(
    private readonly referralFinder: ReferralFinder,
    private readonly referralService: ReferralService,
  ) {}

  @Query(() => Referral, {
    nullable: true,
    description: "Null when the referral does not exist or is not the caller's to see.",
  })
  referral(@Arg("id", () => ID) id: string, @Ctx() { caller }: RequestContext): Promise<Referral | null> {
    return this.referralFinder.findVisible(caller, id);
  }

  @Query(() => ReferralConnection, { complexity: pagedListCost })
  async referrals(
    @Args(() => ReferralsArgs) args: ReferralsArgs,
    @Ctx() { caller, loaders }: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ReferralConnection> {
    const page = await this.referralFinder.page(caller, {
      ...args,
      withEvents: selects(info, ["edges", "node", "events"]),
      withTotal: selects(info, ["totalCount"]),
    });
    // What the page read with it resolves without waiting.
    for (const rfi of page.related.rfis) loaders.of(rfiById).prime(rfi.id, rfi);
    for (const partner of page.related.partners) loaders.of(partnerById).prime(partner.id, partner);
    for (const [id, events] of page.related.events) loaders.of(eventsOfReferral).prime(id, events);
    return page;
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "NEW -> EVALUATING (I'm interested): the customer's details become visible." })
  expressInterest(
    @Arg("id", () => ID) id: string,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.expressInterest(caller, id, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "NEW -> IGNORED (No thanks)." })
  ignoreReferral(
    @Arg("id", () => ID) id: string,
    @Arg("reason", () => String, reasonArg) reason: string | null,
    @Arg("reasonCode", () => ReasonCode, reasonCodeArg) reasonCode: ReasonCode | null,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.ignore(caller, id, { reason, reasonCode }, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "EVALUATING -> NEGOTIATING, with the estimated deal value and close date." })
  acceptReferral(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => AcceptReferralInput) input: AcceptReferralInput,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.accept(caller, id, input, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "EVALUATING -> DECLINED." })
  declineReferral(
    @Arg("id", () => ID) id: string,
    @Arg("reason", () => String, reasonArg) reason: string | null,
    @Arg("reasonCode", () => ReasonCode, reasonCodeArg) reasonCode: ReasonCode | null,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.decline(caller, id, { reason, reasonCode }, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, {
    description: "NEGOTIATING: revise the estimated deal value and close date without changing state.",
  })
  updateDealEstimate(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => AcceptReferralInput) input: AcceptReferralInput,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.updateEstimate(caller, id, input, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "NEGOTIATING -> WON." })
  markReferralWon(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => WonReferralInput, { nullable: true }) input: WonReferralInput | null,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.markWon(caller, id, input, expectedVersion);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Referral, { description: "NEGOTIATING -> LOST." })
  markReferralLost(
    @Arg("id", () => ID) id: string,
    @Arg("reason", () => String, reasonArg) reason: string | null,
    @Arg("reasonCode", () => ReasonCode, reasonCodeArg) reasonCode: ReasonCode | null,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.markLost(caller, id, { reason, reasonCode }, expectedVersion);
  }

  @Authorized(Role.PARTNER)
  @Mutation(() => Referral, {
    description: "PARTNER (own referral): record or clear its CRM id; no change of state. Archived referrals are read-only.",
  })
  setExternalReference(
    @Arg("id", () => ID) id: string,
    @Arg("externalReferenceId", () => String, { nullable: true, description: "Null or empty clears it." })
    externalReferenceId: string | null,
    @Arg("expectedVersion", () => Int, expectedVersionArg) expectedVersion: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral> {
    return this.referralService.setExternalReference(caller, id, externalReferenceId, expectedVersion);
  }

  @FieldResolver(() => ReferralStage)
  stage(@Root() referral: Referral): ReferralStage {
    return stageOf(referral.status);
  }

  @FieldResolver(() => Boolean, { description: "Archived referrals (won, lost, ignored, missed, declined, expired) are read-only." })
  archived(@Root() referral: Referral): boolean {
    return isArchived(referral.status);
  }

  // Related rows resolve synchronously when the request holds them already (a page reads them with it).
  @FieldResolver(() => Partner)
  partner(@Root() referral: Referral, @Ctx() { loaders }: RequestContext): Partner | undefined | Promise<Partner | undefined> {
    return loaders.of(partnerById).get(referral.partnerId);
  }

  @FieldResolver(() => MarketingProfile)
  profile(
    @Root() referral: Referral,
    @Ctx() { loaders }: RequestContext,
  ): MarketingProfile | undefined | Promise<MarketingProfile | undefined> {
    return loaders.of(profileById).get(referral.profileId);
  }

  @FieldResolver(() => RfiOverview)
  overview(@Root() referral: Referral, @Ctx() { loaders }: RequestContext): RfiOverview | Promise<RfiOverview> {
    return whenLoaded(loaders.of(rfiById).get(referral.rfiId), (rfi) => overviewOf(rfi!));
  }

  @FieldResolver(() => CustomerDetails, {
    nullable: true,
    description:
      "Null while the referral is NEW, and for referrals ignored or missed before the partner was interested. Never shown to ANALYST keys.",
  })
  customer(@Root() referral: Referral, @Ctx() { caller, loaders }: RequestContext): CustomerDetails | null | Promise<CustomerDetails> {
    const visible =
      caller.role === Role.ADMIN || caller.role === Role.INTAKE || (caller.role === Role.PARTNER && partnerSeesCustomer(referral.status));
    return visible ? whenLoaded(loaders.of(rfiById).get(referral.rfiId), (rfi) => customerOf(rfi!)) : null;
  }

  @FieldResolver(() => Money, { nullable: true, description: "The latest estimate, given at acceptance and revised while NEGOTIATING." })
  estimatedDealValue(@Root() referral: Referral): Money | null {
    return moneyOf(referral.estimatedDealValue, referral.estimatedCurrency);
  }

  @FieldResolver(() => Money, { nullable: true, description: "The value reported when WON." })
  finalDealValue(@Root() referral: Referral): Money | null {
    return moneyOf(referral.finalDealValue, referral.finalCurrency);
  }

  @FieldResolver(() => [ReferralEvent], {
    complexity: listCost(() => TYPICAL_EVENTS),
    description: "The audit trail, oldest first; the first event is the arrival (from null to NEW).",
  })
  events(@Root() referral: Referral, @Ctx() { loaders }: RequestContext): ReferralEvent[] | Promise<ReferralEvent[]> {
    return loaders.of(eventsOfReferral).get(referral.id);
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description: "How well this referral fits what the partner accepted and declined before, 0..1; null without history.",
  })
  fitScore(@Root() referral: Referral): number | null {
    return referral.fitScore === null ? null : Number(referral.fitScore);
  }

  @FieldResolver(() => [String], { description: "The strongest factors behind fitScore, in words; empty without history." })
  fitReasons(@Root() referral: Referral): string[] {
    return referral.fitReasons ?? [];
  }
}

@Resolver(() => ReferralConnection)
export class ReferralConnectionResolver {
  @FieldResolver(() => Int, { description: "All referrals that match the filter, across pages." })
  totalCount(@Root() connection: ReferralConnection): Promise<number> {
    return connection.countAll();
  }
}
