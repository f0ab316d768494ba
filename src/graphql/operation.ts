import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
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

/**
 * Parses, validates (with `rules`, the ones Apollo is given) and costs an operation as Apollo does
 * over HTTP, with the same error codes: for the transport Apollo does not serve, the WebSocket.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  request: OperationRequest,
  rules: ValidationRule[],
): { document: DocumentNode } | { errors: GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(request.query, parseOptions);
  } catch (error) {
    return { errors: [withCode(error as GraphQLError, "GRAPHQL_PARSE_FAILED")] };
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules]);
  if (invalid.length > 0) return { errors: invalid.map((error) => withCode(error, "GRAPHQL_VALIDATION_FAILED")) };
  try {
    assertAffordable(schema, document, request.variables ?? undefined, request.operationName);
  } catch (error) {
    return { errors: [error as GraphQLError] };
  }
  return { document };
}
