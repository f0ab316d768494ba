import type { GraphQLError, ParseOptions, ValidationContext, ValidationRule } from "graphql";
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
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
  maxCost: 5000,
  maxAliases: 15,
  maxDirectives: 20,
  maxTokens: 2000,
  /** Largest HTTP body or WebSocket message, in bytes: a full RFI is far below it. */
  maxPayloadBytes: 100 * 1024,
} as const;

/** Report a breached limit as a validation error of the document (GRAPHQL_VALIDATION_FAILED), like any other. */
const shared = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export const validationRules: ValidationRule[] = [
  maxDepthRule({ n: LIMITS.maxDepth, ignoreIntrospection: true, ...shared }),
  costLimitRule({ maxCost: LIMITS.maxCost, ignoreIntrospection: true, ...shared }),
  maxAliasesRule({ n: LIMITS.maxAliases, ...shared }),
  maxDirectivesRule({ n: LIMITS.maxDirectives, ...shared }),
] as ValidationRule[];

export const parseOptions: ParseOptions = { maxTokens: LIMITS.maxTokens };
