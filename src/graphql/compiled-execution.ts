import {
  execute,
  type DocumentNode,
  type GraphQLError,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { LRUCache } from "lru-cache";

/** A query is compiled the second time it is seen: a document sent once is not worth compiling. */
export const COMPILE_AFTER = 2;
/** Documents remembered (sightings and compiled plans), least recently used dropped first. */
const DOCUMENTS = 1000;

/** How an operation ran: compiled (graphql-jit) or interpreted by graphql-js. */
export type ExecutionPath = "compiled" | "interpreted";

export interface ExecutionRequest {
  document: DocumentNode;
  /** The operation the request resolved to (undefined when none did: graphql-js says why). */
  operation?: OperationDefinitionNode;
  operationName?: string | null;
  variables?: Record<string, unknown>;
  contextValue: unknown;
  /** A stable key of the query text (Apollo's sha256 of it). */
  queryHash: string;
}

/** A document seen fewer than COMPILE_AFTER times, its plan, or `false` when graphql-jit cannot compile it. */
type Plan = number | CompiledQuery | false;

/**
 * Runs queries that are seen often through graphql-jit's compiled plans, and everything else through
 * graphql-js. Both answer alike (a test runs each document both ways): a compiled plan whose request
 * fails before execution (variables that do not coerce) is answered by graphql-js, whose messages are
 * the reference. Mutations and subscriptions always run through graphql-js.
 */
export class CompiledExecution {
  private readonly plans = new LRUCache<string, Plan>({ max: DOCUMENTS });

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly executed?: (path: ExecutionPath) => void,
  ) {}

  async execute(request: ExecutionRequest): Promise<ExecutionResult> {
    const plan = request.operation?.operation === "query" ? this.planFor(request) : false;
    if (plan !== false) {
      const result = await plan.query(undefined, request.contextValue, request.variables ?? {});
      // No data: the request failed before any resolver ran; graphql-js words why.
      if ("data" in result && result.data !== undefined) {
        this.executed?.("compiled");
        return result.errors ? { ...result, errors: result.errors.map(withExtensions) } : result;
      }
    }
    this.executed?.("interpreted");
    return execute({
      schema: this.schema,
      document: request.document,
      operationName: request.operationName,
      variableValues: request.variables,
      contextValue: request.contextValue,
    });
  }

  private planFor({ document, operationName, queryHash }: ExecutionRequest): CompiledQuery | false {
    const key = `${queryHash}:${operationName ?? ""}`;
    const plan = this.plans.get(key) ?? 0;
    if (typeof plan !== "number") return plan;
    if (plan + 1 < COMPILE_AFTER) {
      this.plans.set(key, plan + 1);
      return false;
    }
    const compiled = compile(this.schema, document, operationName);
    this.plans.set(key, compiled);
    return compiled;
  }
}

/**
 * graphql-jit leaves `extensions` undefined on an error whose cause has none, where graphql-js always
 * gives an object (Apollo reads a code from it): the same error, seen through one that has them.
 */
function withExtensions(error: GraphQLError): GraphQLError {
  return error.extensions === undefined ? Object.create(error, { extensions: { value: {}, enumerable: true } }) : error;
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): CompiledQuery | false {
  try {
    const compiled = compileQuery(schema, document, operationName ?? undefined, { disablingCapturingStackErrors: true });
    return isCompiledQuery(compiled) ? compiled : false;
  } catch {
    return false;
  }
}
