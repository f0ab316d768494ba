/**
 * Cursor paging as every list of the API does it: `first` and `after` in (declared by each list, in
 * the contract's order: after its own arguments), `pageInfo` out.
 */
import { Field, ObjectType } from "type-graphql";
import { badInput } from "./errors.js";
import { listCost } from "./limits.js";

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

/** How many rows a page holds for `first` (unset: the default; never more than the maximum). */
function pageSize(first: number | null | undefined): number {
  return Math.min(first ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
}

/** The page size asked for, refused when negative. */
export function requestedPageSize(first: number | null | undefined): number {
  if (first != null && first < 0) throw badInput("first", "must not be negative");
  return pageSize(first);
}

/** The cost limit's view of a paged list: its items' cost times the page size. */
export const pagedListCost = listCost(({ first }) => pageSize(first as number | null | undefined));
