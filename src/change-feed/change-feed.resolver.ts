import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { DEFAULT_CHANGES } from "./change-feed.service.js";
import { ReferralChange, ReferralChangeConnection } from "./change-feed.types.js";
import { ChangeFeedService } from "./change-feed.service.js";

@Resolver(() => ReferralChange)
export class ChangeFeedResolver {
  constructor(private readonly changeFeed: ChangeFeedService) {}

  @Query(() => ReferralChangeConnection, {
    description:
      "Every change of the caller's referrals after `after` (from the beginning when absent), oldest first, at most `first` (default 100, max 500). A change that commits late is never skipped: a client that keeps the last cursor it saw and asks again gets every change exactly once. With nothing new, edges is empty and endCursor is null: keep your cursor.",
    complexity: listCost(({ first }) => (first as number | null | undefined) ?? DEFAULT_CHANGES),
  })
  referralChanges(
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<ReferralChangeConnection> {
    return this.changeFeed.page(caller, after, first);
  }
}
