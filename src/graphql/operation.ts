import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from "graphql";
import { LRUCache } from "lru-cache";
import { assertAffordable, parseOptions } from "./limits.js";

export interface OperationRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

type Parsed = { document: DocumentNode } | { errors: GraphQLError[] };

/** Documents already parsed and validated, by query text, per schema and rules (as Apollo keeps its own). */
const parsed = new WeakMap<GraphQLSchema, WeakMap<ValidationRule[], LRUCache<string, Parsed>>>();

function parsedOf(schema: GraphQLSchema, query: string, rules: ValidationRule[]): Parsed {
  let bySchema = parsed.get(schema);
  if (!bySchema) parsed.set(schema, (bySchema = new WeakMap()));
  let cache = bySchema.get(rules);
  if (!cache) bySchema.set(rules, (cache = new LRUCache({ max: 1000 })));
  let found = cache.get(query);
  if (!found) {
    found = parseAndValidate(schema, query, rules);
    cache.set(query, found);
  }
  return found;
}

function parseAndValidate(schema: GraphQLSchema, query: string, rules: ValidationRule[]): Parsed {
  let document: DocumentNode;
  try {
    document = parse(query, parseOptions);
  } catch (error) {
    return { errors: [withCode(error as GraphQLError, "GRAPHQL_PARSE_FAILED")] };
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules]);
  if (invalid.length > 0) return { errors: invalid.map((error) => withCode(error, "GRAPHQL_VALIDATION_FAILED")) };
  return { document };
}

/**
 * Parses, validates (with `rules`, the ones Apollo is given) and costs an operation as Apollo does
 * over HTTP, with the same error codes: for the transport Apollo does not serve, the WebSocket.
 * Thousands of sockets subscribing with one query share one parsed document.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  request: OperationRequest,
  rules: ValidationRule[],
): { document: DocumentNode } | { errors: GraphQLError[] } {
  const found = parsedOf(schema, request.query, rules);
  if ("errors" in found) return found;
  const { document } = found;
  try {
    assertAffordable(schema, document, request.variables ?? undefined, request.operationName);
  } catch (error) {
    return { errors: [error as GraphQLError] };
  }
  return { document };
}
