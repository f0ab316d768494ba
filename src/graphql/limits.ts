import {
  GraphQLError,
  type DocumentNode,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimatorArgs } from "graphql-query-complexity";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";

/**
 * The abuse limits, defined once and applied to every operation whatever its transport (HTTP and
 * WebSocket): they bound the work one document can ask for before any resolver runs.
 */
export const LIMITS = {
  /** Deep enough for referral > partner > profiles > partner > ..., and no deeper. */
  maxDepth: 10,
  /** Enough for a full page of 100 referrals with their partner, profile, overview, customer and events. */
  maxCost: 25_000,
  maxAliases: 15,
  maxDirectives: 20,
  maxTokens: 2000,
  /** Largest HTTP body or WebSocket message, in bytes: a full RFI is far below it. */
  maxPayloadBytes: 100 * 1024,
  /** Live events a subscription may have waiting for its client before the server gives up on it as too slow. */
  maxPendingEvents: 100,
  /** Operations one WebSocket may run at once. */
  maxOperationsPerSocket: 20,
} as const;

/** Report a breached limit as a validation error of the document (GRAPHQL_VALIDATION_FAILED), like any other. */
const armor = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/** Refuses `__schema` and `__type` (once each, unlike graphql-js's rule, which flags every field below them). */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === "__schema" || node.name.value === "__type") {
      context.reportError(
        new GraphQLError(`GraphQL introspection is not allowed here, but the query contained ${node.name.value}`, {
          nodes: [node],
          extensions: { validationErrorCode: "INTROSPECTION_DISABLED" },
        }),
      );
    }
  },
});

/** The validation rules beyond graphql-js's own, for every transport; without introspection in production. */
export function validationRulesFor({ introspection }: { introspection: boolean }): ValidationRule[] {
  return [
    maxDepthRule({ n: LIMITS.maxDepth, ignoreIntrospection: true, ...armor }),
    maxAliasesRule({ n: LIMITS.maxAliases, ...armor }),
    maxDirectivesRule({ n: LIMITS.maxDirectives, ...armor }),
    ...(introspection ? [] : [noIntrospection]),
  ] as ValidationRule[];
}

export const parseOptions: ParseOptions = { maxTokens: LIMITS.maxTokens };

/**
 * The cost of a list field: its items' cost times how many there can be. Declared on list fields as
 * `complexity: listCost(...)`; lists of unknown length are costed at a typical size.
 */
export function listCost(sizeOf: (args: Record<string, unknown>) => number) {
  return ({ args, childComplexity }: ComplexityEstimatorArgs) => 1 + childComplexity * sizeOf(args);
}

/** Costs already computed, per parsed document (Apollo reuses one per query text) and variables. */
const costs = new WeakMap<DocumentNode, Map<string, number>>();
const COSTS_PER_DOCUMENT = 100;

/**
 * Refuses an operation whose cost is over the limit. Cost needs the variables (a page size is often
 * one), so it is checked once the operation is known, not as a validation rule.
 */
export function assertAffordable(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined | null,
): void {
  const key = `${operationName ?? ""} ${JSON.stringify(variables ?? {})}`;
  let known = costs.get(document);
  if (!known) costs.set(document, (known = new Map()));
  let cost = known.get(key);
  if (cost === undefined) {
    try {
      cost = getComplexity({
        schema,
        query: document,
        variables,
        operationName: operationName ?? undefined,
        estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch {
      // Variables that do not coerce: execution refuses them (BAD_USER_INPUT) before any resolver runs.
      return;
    }
    if (known.size < COSTS_PER_DOCUMENT) known.set(key, cost);
  }
  if (cost > LIMITS.maxCost) {
    throw new GraphQLError(`Query cost limit of ${LIMITS.maxCost} exceeded, found ${cost}.`, {
      extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } },
    });
  }
}
