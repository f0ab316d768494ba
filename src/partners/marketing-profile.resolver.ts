import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { MarketingProfile } from "./marketing-profile.entity.js";
import { Partner } from "./partner.entity.js";
import { MarketingProfileInput } from "./partner.inputs.js";
import { partnerById } from "./partner.loaders.js";
import { PartnerService } from "./partner.service.js";

@Resolver(() => MarketingProfile)
export class MarketingProfileResolver {
  constructor(private readonly partners: PartnerService) {}

  @Authorized(Role.ADMIN, Role.PARTNER)
  @Mutation(() => MarketingProfile, {
    description: "PARTNER (own partner) or ADMIN. Without `id`, creates a profile; with it, updates that one.",
  })
  upsertMarketingProfile(
    @Arg("partnerId", () => ID) partnerId: string,
    @Arg("id", () => ID, { nullable: true }) id: string | null,
    @Arg("input", () => MarketingProfileInput) input: MarketingProfileInput,
    @Ctx() { caller }: RequestContext,
  ): Promise<MarketingProfile> {
    return this.partners.upsertProfile(caller, partnerId, id, input);
  }

  @FieldResolver(() => Partner)
  async partner(@Root() profile: MarketingProfile, @Ctx() { loaders }: RequestContext): Promise<Partner> {
    return (await loaders.of(partnerById).load(profile.partnerId))!;
  }
}
