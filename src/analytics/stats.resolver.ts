import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { Partner } from "../partners/index.js";
import { CloseDateStats, DealSizeStats, Responsiveness, StatsDimension, StatsFilter } from "./stats.types.js";
import { responsivenessOfPartner } from "./responsiveness.js";
import { StatsService } from "./stats.service.js";

/** What the cost limit assumes of a statistics answer: one row per group. */
const TYPICAL_GROUPS = 100;

@Resolver()
export class StatsResolver {
  constructor(private readonly stats: StatsService) {}

  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [DealSizeStats], {
    complexity: listCost(() => TYPICAL_GROUPS),
    description: "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values and currency.",
  })
  dealSizeStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) groupBy: StatsDimension[] | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<DealSizeStats[]> {
    return this.stats.dealSizes(caller, filter, groupBy);
  }

  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [CloseDateStats], {
    complexity: listCost(() => TYPICAL_GROUPS),
    description: "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values.",
  })
  closeDateStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) groupBy: StatsDimension[] | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<CloseDateStats[]> {
    return this.stats.closeDates(caller, filter, groupBy);
  }
}

@Resolver(() => Partner)
export class PartnerResponsivenessResolver {
  @FieldResolver(() => Responsiveness)
  responsiveness(@Root() partner: Partner, @Ctx() { loaders }: RequestContext): Promise<Responsiveness> {
    return loaders.of(responsivenessOfPartner).load(partner.id);
  }
}
