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
    return { status: response.status, ...body };
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
