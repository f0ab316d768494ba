import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from "type-graphql";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { Partner } from "../partners/partner.entity.js";
import { CloseDateStats, DealSizeStats, Responsiveness, StatsDimension, StatsFilter } from "./stats.types.js";

/** What the cost limit assumes of a statistics answer: one row per group. */
const TYPICAL_GROUPS = 100;

@Resolver()
export class StatsResolver {
  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [DealSizeStats], {
    complexity: listCost(() => TYPICAL_GROUPS),
    description: "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values and currency.",
  })
  dealSizeStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) groupBy: StatsDimension[] | null,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<DealSizeStats[]> {
    return services.stats.dealSizes(caller, filter, groupBy);
  }

  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [CloseDateStats], {
    complexity: listCost(() => TYPICAL_GROUPS),
    description: "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values.",
  })
  closeDateStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) groupBy: StatsDimension[] | null,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<CloseDateStats[]> {
    return services.stats.closeDates(caller, filter, groupBy);
  }
}

@Resolver(() => Partner)
export class PartnerResponsivenessResolver {
  @FieldResolver(() => Responsiveness)
  responsiveness(@Root() partner: Partner, @Ctx() { loaders }: RequestContext): Promise<Responsiveness> {
    return loaders.responsiveness.load(partner.id);
  }
}
