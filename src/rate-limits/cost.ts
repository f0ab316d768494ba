import { Kind, visit, type DocumentNode } from "graphql";

/**
 * What an operation costs against its key's limit: one unit, except statistics. A statistics field
 * runs an aggregate over every referral of its filter (about a second over a million rows), so each
 * one costs STATISTICS_COST units: 1,200 units a minute buy 120 statistics, not 1,200.
 */
export const STATISTICS_COST = 10;

/** The fields that cost STATISTICS_COST each (root fields of Query, src/analytics/stats.resolver.ts). */
const STATISTICS_FIELDS = new Set(["dealSizeStats", "closeDateStats"]);

/** Apollo and the WebSocket keep parsed documents: each is costed once. */
const costs = new WeakMap<DocumentNode, number>();

/**
 * Units of a parsed document: STATISTICS_COST per statistics field it selects (an alias is one more
 * field: 15 aliases of dealSizeStats run 15 aggregates), at least 1. Counted over the whole document,
 * other operations and fragments included: at worst a document with several operations is charged
 * for one it does not run, never less than what it runs.
 */
export function documentCost(document: DocumentNode): number {
  let cost = costs.get(document);
  if (cost === undefined) {
    let statistics = 0;
    visit(document, {
      [Kind.FIELD]: (node) => {
        if (STATISTICS_FIELDS.has(node.name.value)) statistics++;
      },
    });
    cost = Math.max(1, statistics * STATISTICS_COST);
    costs.set(document, cost);
  }
  return cost;
}
