import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { RequestScope } from "../graphql/request-scope.js";
import type { Metrics } from "./metrics.js";

/** The label of anything the schema does not name: an unparsable document, an unknown field. */
export const UNKNOWN = "unknown";
/** The operation's own name, as the access log shows it, is cut here. */
const MAX_NAME_LENGTH = 100;
const INTROSPECTION_FIELDS = new Set(["__schema", "__type", "__typename"]);

export type Outcome = "ok" | "error" | "refused";

/**
 * The `operation` and `type` labels of an operation. `operation` is its first root field (`referrals`,
 * `submitRfi`), not the name the client gave it: the schema bounds the root fields, while clients name
 * operations as they please. Anything the schema does not know is `unknown`.
 */
export function operationLabels(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode | undefined,
  document?: DocumentNode,
): { operation: string; type: string } {
  if (!operation) return { operation: UNKNOWN, type: UNKNOWN };
  const root = schema.getRootType(operation.operation);
  const field = firstField(operation.selectionSet, document);
  const known = field !== undefined && (INTROSPECTION_FIELDS.has(field) || root?.getFields()[field] !== undefined);
  return { operation: known ? field : UNKNOWN, type: operation.operation };
}

/** The operation a request runs: the one named `operationName`, or the only one. */
export function chosenOperation(document: DocumentNode | undefined, operationName?: string | null): OperationDefinitionNode | undefined {
  const operations = (document?.definitions ?? []).filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((operation) => operation.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

function firstField(selectionSet: SelectionSetNode, document: DocumentNode | undefined, depth = 0): string | undefined {
  if (depth > 3) return undefined;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) return selection.name.value;
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const found = firstField(selection.selectionSet, document, depth + 1);
      if (found) return found;
    } else {
      const fragment = document?.definitions.find(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) {
        const found = firstField(fragment.selectionSet, document, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * Counts and times every GraphQL operation over HTTP (graphql_operations_total,
 * graphql_operation_duration_seconds) by root field, type and outcome: `ok`; `error` when it ran and
 * any error came back; `refused` when it never ran (unparsable, invalid, over the limits, or a context
 * that could not be made: a bad key). Also tells the access log which operation the request was.
 */
export function operationMetricsPlugin(metrics: Metrics): ApolloServerPlugin<{ request?: RequestScope }> {
  return {
    // No request hook runs then, and no time is known: counted, not timed.
    contextCreationDidFail: async ({ error }) => {
      const outcome: Outcome = error instanceof GraphQLError && error.extensions.code !== undefined ? "refused" : "error";
      metrics.operations.inc({ operation: UNKNOWN, type: UNKNOWN, outcome });
    },
    requestDidStart: async ({ contextValue }) => {
      const started = performance.now();
      let executed = false;
      return {
        executionDidStart: async () => {
          executed = true;
        },
        willSendResponse: async ({ schema, document, operation, request, response }) => {
          const chosen = operation ?? chosenOperation(document, request.operationName);
          const labels = operationLabels(schema, chosen, document);
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          const outcome: Outcome = !errors?.length ? "ok" : executed ? "error" : "refused";
          metrics.operations.inc({ ...labels, outcome });
          metrics.operationDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000);
          if (contextValue.request)
            contextValue.request.operation = {
              name: chosen?.name?.value.slice(0, MAX_NAME_LENGTH) ?? null,
              type: labels.type,
              field: labels.operation,
            };
        },
      };
    },
  };
}
