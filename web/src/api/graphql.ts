/**
 * The one way the dashboard talks to the server over HTTP: a POST to /graphql with the API key as a
 * bearer token. A GraphQL error becomes an ApiError carrying the server's stable `extensions.code`,
 * so views decide on the code (STALE_VERSION, UNAUTHENTICATED, ...), never on the message.
 */
import { ErrorCode } from "../../../src/graphql/error-codes.js";
import type { Words } from "../i18n.js";

export const GRAPHQL_PATH = "/graphql";
const NETWORK_ERROR = "NETWORK_ERROR";
const BAD_RESPONSE = "BAD_RESPONSE";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** With RATE_LIMITED: how long the key must wait. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Told whenever the server refuses the key (revoked or expired meanwhile), whatever asked. */
export const keyRefusals = new EventTarget();

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[];
}

export async function graphql<T>(apiKey: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("The server could not be reached.", NETWORK_ERROR);
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL result.`, BAD_RESPONSE);
  }
  const [error] = body.errors ?? [];
  if (error?.extensions?.code === ErrorCode.UNAUTHENTICATED)
    keyRefusals.dispatchEvent(new CustomEvent("refused", { detail: error.message }));
  if (error)
    throw new ApiError(error.message, error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR, error.extensions?.retryAfterSeconds);
  if (!body.data) throw new ApiError("The server answered without data.", BAD_RESPONSE);
  return body.data;
}

/**
 * What to show a person for an error, in the page's language: words of its own for the codes whose
 * meaning is fixed, the server's message where it says what to correct (bad input, for instance).
 */
export function describeError(error: unknown, words: Words): string {
  if (!(error instanceof ApiError)) return words.unexpected;
  switch (error.code) {
    case NETWORK_ERROR:
      return words.unreachable;
    case BAD_RESPONSE:
      return words.badResponse;
    case ErrorCode.SERVICE_UNAVAILABLE:
      return words.busy;
    case ErrorCode.RATE_LIMITED:
      return words.rateLimited(error.retryAfterSeconds ?? 60);
    case ErrorCode.FORBIDDEN:
      return words.notAllowed;
    case ErrorCode.INTERNAL_SERVER_ERROR:
      return words.serverFault;
    default:
      return error.message;
  }
}
