import { Arg, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { CountryCodeScalar } from "../graphql/scalars.js";
import { MarketingProfile } from "./marketing-profile.entity.js";
import { Partner } from "./partner.entity.js";
import { CreatePartnerInput, CreatePartnerPayload } from "./partner.inputs.js";
import { profilesOfPartner } from "./partner.loaders.js";
import { PartnerService } from "./partner.service.js";

/** What the cost limit assumes of lists whose length the query does not bound. */
const TYPICAL_PARTNERS = 50;
const TYPICAL_PROFILES = 5;

@Resolver(() => Partner)
export class PartnerResolver {
  constructor(private readonly partnerService: PartnerService) {}

  @Authorized(Role.ADMIN, Role.ANALYST, Role.INTAKE)
  @Query(() => [Partner], {
    complexity: listCost(() => TYPICAL_PARTNERS),
    description: "ADMIN, ANALYST and INTAKE: partners by name, those with an active profile in `region` when given.",
  })
  partners(@Arg("region", () => CountryCodeScalar, { nullable: true }) region: string | null): Promise<Partner[]> {
    return this.partnerService.list(region);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatePartnerPayload, { description: "ADMIN." })
  createPartner(@Arg("input", () => CreatePartnerInput) input: CreatePartnerInput): Promise<CreatePartnerPayload> {
    return this.partnerService.create(input.name);
  }

  @FieldResolver(() => [MarketingProfile], { complexity: listCost(() => TYPICAL_PROFILES) })
  profiles(@Root() partner: Partner, @Ctx() { loaders }: RequestContext): Promise<MarketingProfile[]> {
    return loaders.of(profilesOfPartner).load(partner.id);
  }
}
