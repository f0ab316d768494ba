/**
 * The one way the dashboard talks to the server over HTTP: a POST to /graphql with the API key as a
 * bearer token. A GraphQL error becomes an ApiError carrying the server's stable `extensions.code`,
 * so views decide on the code (STALE_VERSION, UNAUTHENTICATED, ...) and show the server's message.
 */
import type { Words } from "../i18n.js";

export const GRAPHQL_PATH = "/graphql";
const NETWORK_ERROR = "NETWORK_ERROR";
const BAD_RESPONSE = "BAD_RESPONSE";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Told whenever the server refuses the key (revoked or expired meanwhile), whatever asked. */
export const keyRefusals = new EventTarget();

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
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
  if (error?.extensions?.code === "UNAUTHENTICATED") keyRefusals.dispatchEvent(new CustomEvent("refused", { detail: error.message }));
  if (error) throw new ApiError(error.message, error.extensions?.code ?? "INTERNAL_SERVER_ERROR");
  if (!body.data) throw new ApiError("The server answered without data.", BAD_RESPONSE);
  return body.data;
}

/** What to show a person for an error: the server's message, or words of the page's own for the rest. */
export function describeError(error: unknown, words: Words): string {
  if (!(error instanceof ApiError)) return words.unexpected;
  if (error.code === NETWORK_ERROR) return words.unreachable;
  if (error.code === BAD_RESPONSE) return words.badResponse;
  return error.message;
}
