import { Kind, parse, visit, type DocumentNode } from "graphql";
import { parseOptions } from "../graphql/limits.js";

/**
 * What an operation costs against its key's limit: one unit, except statistics. A statistics field
 * runs an aggregate over every referral of its filter (about a second over a million rows), so each
 * one costs STATISTICS_COST units: 1,200 units a minute buy 120 statistics, not 1,200.
 */
export const STATISTICS_COST = 10;

/** The fields that cost STATISTICS_COST each (root fields of Query, src/analytics/stats.resolver.ts). */
const STATISTICS_FIELDS = new Set(["dealSizeStats", "closeDateStats"]);
const MENTIONS_STATISTICS = /dealSizeStats|closeDateStats/;

/**
 * Units of a parsed document: STATISTICS_COST per statistics field it selects (an alias is one more
 * field: 15 aliases of dealSizeStats run 15 aggregates), at least 1. Counted over the whole document,
 * other operations and fragments included: at worst a document with several operations is charged
 * for one it does not run, never less than what it runs.
 */
export function documentCost(document: DocumentNode): number {
  let statistics = 0;
  visit(document, {
    [Kind.FIELD]: (node) => {
      if (STATISTICS_FIELDS.has(node.name.value)) statistics++;
    },
  });
  return Math.max(1, statistics * STATISTICS_COST);
}

/**
 * Units of an HTTP request's query text, before Apollo parses it. Most queries never name a
 * statistics field, and a plain text search clears them without parsing; the few that do are parsed
 * with the same token limit as Apollo (so at most 2,000 tokens of work). A document that does not
 * parse costs 1: Apollo refuses it before running anything.
 */
export function queryCost(query: unknown): number {
  if (typeof query !== "string" || !MENTIONS_STATISTICS.test(query)) return 1;
  try {
    return documentCost(parse(query, parseOptions));
  } catch {
    return 1;
  }
}
