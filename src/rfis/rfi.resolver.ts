import { Arg, Authorized, Ctx, Field, FieldResolver, Float, ID, Mutation, ObjectType, Query, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import { isRowId } from "../db/ids.js";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { MarketingProfile } from "../partners/index.js";
import { Partner } from "../partners/index.js";
import { Referral } from "../referrals/referral.entity.js";
import { overviewOf, Rfi, RfiOverview } from "./rfi.entity.js";
import { MAX_PARTNERS, SubmitRfiInput, SubmitRfiPayload } from "./rfi.inputs.js";
import { SUGGESTIONS } from "./suggestions.js";
import { rfiById } from "./rfi.loaders.js";
import { MAX_DUPLICATES } from "./duplicates.js";
import { RfiService } from "./rfi.service.js";

@ObjectType({ simpleResolvers: true, description: "Other active partners the customer may choose instead, best match first." })
export class PartnerSuggestion {
  @Field(() => Partner)
  partner: Partner;

  @Field(() => MarketingProfile)
  profile: MarketingProfile;

  @Field(() => Float, { description: "0..1, the same ranking automatic routing uses." })
  rank: number;
}

/** What the intake reads of a customer's request: every partner it went to, and who else could take it. */
@Resolver(() => Rfi)
export class RfiResolver {
  constructor(private readonly rfis: RfiService) {}

  @Authorized(Role.INTAKE, Role.ADMIN)
  @Mutation(() => SubmitRfiPayload, {
    description: "INTAKE or ADMIN: a customer's request, fanned out as one referral per targeted partner.",
  })
  submitRfi(@Arg("input", () => SubmitRfiInput) input: SubmitRfiInput, @Ctx() { caller }: RequestContext): Promise<SubmitRfiPayload> {
    return this.rfis.submit(caller, input);
  }

  @Authorized(Role.INTAKE, Role.ADMIN)
  @Mutation(() => [Referral], {
    complexity: listCost(() => MAX_PARTNERS),
    description:
      "INTAKE or ADMIN: target more partners for the same request, one new referral each. A partner already targeted, or without an active profile in the RFI's region, is refused with BAD_USER_INPUT and nothing is created.",
  })
  extendRfi(
    @Arg("rfiId", () => ID) rfiId: string,
    @Arg("partnerIds", () => [ID]) partnerIds: string[],
    @Ctx() { caller }: RequestContext,
  ): Promise<Referral[]> {
    return this.rfis.extend(caller, rfiId, partnerIds);
  }

  @Authorized(Role.INTAKE, Role.ADMIN)
  @Query(() => Rfi, { nullable: true, description: "INTAKE or ADMIN; null when there is no such RFI." })
  async rfi(@Arg("id", () => ID) id: string, @Ctx() { loaders }: RequestContext): Promise<Rfi | null> {
    return isRowId(id) ? ((await loaders.of(rfiById).load(id)) ?? null) : null;
  }

  @FieldResolver(() => RfiOverview)
  overview(@Root() rfi: Rfi): RfiOverview {
    return overviewOf(rfi);
  }

  @Authorized(Role.INTAKE, Role.ADMIN)
  @FieldResolver(() => [Referral], {
    complexity: listCost(() => MAX_PARTNERS),
    description: "Every referral the RFI became, with its status: how the intake follows a customer's request.",
  })
  referrals(@Root() rfi: Rfi): Promise<Referral[]> {
    return this.rfis.referralsOf(rfi.id);
  }

  @Authorized(Role.INTAKE, Role.ADMIN)
  @FieldResolver(() => [Rfi], {
    complexity: listCost(() => MAX_DUPLICATES),
    description:
      "INTAKE and ADMIN: other RFIs of the same customer (same e-mail, or same e-mail domain and region; public mailbox domains do not count) within DUPLICATE_WINDOW, newest first.",
  })
  possibleDuplicates(@Root() rfi: Rfi): Promise<Rfi[]> {
    return this.rfis.possibleDuplicatesOf(rfi);
  }

  @Authorized(Role.INTAKE, Role.ADMIN)
  @FieldResolver(() => [PartnerSuggestion], {
    complexity: listCost(() => SUGGESTIONS),
    description: "Up to 3 active partners in the RFI's region not yet targeted, for a customer whose partner passed.",
  })
  suggestedPartners(@Root() rfi: Rfi): Promise<PartnerSuggestion[]> {
    return this.rfis.suggestionsFor(rfi);
  }
}
