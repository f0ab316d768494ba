import { Arg, Authorized, FieldResolver, Query, Resolver } from "type-graphql";
import { Role } from "../auth/role.js";
import { notImplemented } from "../graphql/errors.js";
import { Partner } from "../partners/partner.entity.js";
import { CloseDateStats, DealSizeStats, Responsiveness, StatsDimension, StatsFilter } from "./stats.types.js";

@Resolver()
export class StatsResolver {
  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [DealSizeStats], {
    description:
      "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values and currency.",
  })
  dealSizeStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) _filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) _groupBy: StatsDimension[] | null,
  ): DealSizeStats[] {
    throw notImplemented("dealSizeStats");
  }

  @Authorized(Role.ADMIN, Role.ANALYST, Role.PARTNER)
  @Query(() => [CloseDateStats], {
    description: "ANALYST and ADMIN: all partners; PARTNER: its own. One row per combination of the groupBy values.",
  })
  closeDateStats(
    @Arg("filter", () => StatsFilter, { nullable: true }) _filter: StatsFilter | null,
    @Arg("groupBy", () => [StatsDimension], { nullable: true }) _groupBy: StatsDimension[] | null,
  ): CloseDateStats[] {
    throw notImplemented("closeDateStats");
  }
}

@Resolver(() => Partner)
export class PartnerResponsivenessResolver {
  @FieldResolver(() => Responsiveness)
  responsiveness(): Responsiveness {
    throw notImplemented("responsiveness");
  }
}
