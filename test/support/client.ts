import { expect } from "chai";

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

/**
 * The body with each error's `extensions.requestId` taken out, once checked to be the response's
 * `x-request-id` (test/operations/ tests the request ids themselves; the other tests compare
 * extensions as they were before request ids).
 */
export function withoutRequestIds<B>(body: B, requestId: string | null): B {
  const { errors: found } = body as { errors?: GraphQLErrorBody[] };
  if (!Array.isArray(found)) return body;
  const errors = found.map((error) => {
    if (error.extensions?.requestId === undefined) return error;
    const { requestId: inError, ...extensions } = error.extensions;
    expect(inError, "extensions.requestId is the response's x-request-id").to.equal(requestId);
    return { ...error, extensions };
  });
  return { ...body, errors };
}

/** A GraphQL-over-HTTP client, as an integrator would use the API: fetch, JSON, a Bearer key. */
export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly key?: string,
  ) {}

  async request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<T>, "status">;
    return { status: response.status, ...withoutRequestIds(body, response.headers.get("x-request-id")) };
  }

  /** The data of a request that must succeed. */
  async data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const { data, errors } = await this.request<T>(query, variables);
    expect(errors, JSON.stringify(errors)).to.equal(undefined);
    return data!;
  }

  /** The single error of a request that must fail. */
  async error(query: string, variables?: Record<string, unknown>): Promise<GraphQLErrorBody & { code: string }> {
    const { errors } = await this.request(query, variables);
    expect(errors, "expected an error").to.be.an("array").with.length(1);
    return { ...errors![0], code: String(errors![0].extensions?.code) };
  }
}
