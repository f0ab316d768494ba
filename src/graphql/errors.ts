import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import type { Logger } from "pino";
import { isDeadlock } from "../db/lock-conflicts.js";
import { ErrorCode } from "./error-codes.js";
import { scopeOfError } from "./request-scope.js";

/** An error the client caused or may act on: its message and code reach the client as they are. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

/** Bad input, naming the field (as a dotted path like `input.customer.email`). */
export function badInput(field: string, problem: string): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, `${field}: ${problem}`, { field });
}

export function notFound(what: string): AppError {
  return new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
}

export function forbidden(message = "this key's role may not do this"): AppError {
  return new AppError(ErrorCode.FORBIDDEN, message);
}

export function unauthenticated(message: string): AppError {
  return new AppError(ErrorCode.UNAUTHENTICATED, message, { http: { status: 401 } });
}

/** Seconds a client should wait before retrying after SERVICE_UNAVAILABLE. */
export const RETRY_AFTER_SECONDS = 1;

/** Overload: HTTP 503 with Retry-After (Apollo reads `http` before formatting); nothing was done. */
export function serviceUnavailable(message: string): AppError {
  return new AppError(ErrorCode.SERVICE_UNAVAILABLE, message, {
    http: { status: 503, headers: new Map([["retry-after", String(RETRY_AFTER_SECONDS)]]) },
  });
}

/** What a client is told when InnoDB refused its request a lock, again and again: nothing is wrong with the request. */
export const DATABASE_BUSY = "the database is busy with conflicting changes; retry shortly";

/** Codes produced by graphql-js and Apollo themselves for requests that are wrong as written. */
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);
/** Apollo gives every unknown error the code INTERNAL_SERVER_ERROR, so that code never passes through: it is masked. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  ...REQUEST_ERROR_CODES,
]);

/** graphql-js reports a literal of the wrong scalar form as a validation error; it is bad input. */
const LITERAL_VALUE_PROBLEM = /^Expected value of type|^Expected type|cannot represent/;

export interface ErrorFormatting {
  logger: Logger;
  /** Drop "Did you mean …?" hints, which reveal parts of the schema. */
  hideSchemaHints: boolean;
}

/**
 * Shapes every error leaving the server, over HTTP and WebSocket alike. Errors with a known code pass
 * through; anything else is logged with an id and masked, so no internal detail ever reaches a client.
 */
export function createErrorFormatter({ logger, hideSchemaHints }: ErrorFormatting) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    // The request it belongs to (request-scope.ts): its id goes to the client, its logger logs.
    const scope = scopeOfError(error);
    const requestId = scope?.requestId === undefined ? {} : { requestId: scope.requestId };
    const code = formatted.extensions?.code;
    if (typeof code === "string" && CLIENT_CODES.has(code)) {
      const message = hideSchemaHints ? formatted.message.replace(/ ?Did you mean .*\?$/, "") : formatted.message;
      const isBadLiteral = code === "GRAPHQL_VALIDATION_FAILED" && LITERAL_VALUE_PROBLEM.test(message);
      // `http` is for the HTTP response (Apollo takes it out); over WebSocket it must not reach the client either.
      const { http: _http, ...rest } = formatted.extensions ?? {};
      const extensions = { ...rest, code: isBadLiteral ? ErrorCode.BAD_USER_INPUT : code, ...requestId };
      return { ...formatted, message, extensions };
    }
    if (isDeadlock(original)) {
      // A lock conflict that no transaction retried: the client may simply try again (HTTP 503 with
      // Retry-After, set by apollo.ts, as retryingDeadlocks answers once its runs are used up).
      (scope?.log ?? logger).warn({ err: original, path: formatted.path }, "a database lock conflict reached the client");
      return {
        message: DATABASE_BUSY,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, ...requestId },
      };
    }
    const errorId = randomUUID();
    (scope?.log ?? logger).error({ err: original, errorId, path: formatted.path }, "unexpected error while serving a request");
    return {
      message: `Internal server error (id ${errorId})`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, errorId, ...requestId },
    };
  };
}
