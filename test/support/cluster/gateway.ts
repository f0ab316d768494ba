import type { Instance } from "./instances.js";

/** How clients reach the cluster: one address (a balancer), or each instance in turn (as a client with a list of them). */
export interface Gateway {
  /** The GraphQL URL of the next request. */
  http(): string;
  /** The WebSocket URL of the next connection. */
  ws(): string;
}

export function behindBalancer(url: string): Gateway {
  return { http: () => url, ws: () => url.replace(/^http/, "ws") };
}

export function roundRobin(instances: readonly Instance[]): Gateway {
  let next = 0;
  const url = () => instances[next++ % instances.length].url;
  return { http: url, ws: () => url().replace(/^http/, "ws") };
}

/**
 * What one request got: data, or why not (`code`: the error's extensions.code, `HTTP <status>` for an
 * answer without a GraphQL body, CONNECTION when no answer came, TIMEOUT). `via` names the instance
 * that answered (`127.0.0.1:<port>`, from the balancer's X-Upstream header when there is one).
 */
export interface Answer<T> {
  data?: T;
  code?: string;
  message?: string;
  via: string;
  ms: number;
}

/** Errors a client is told to retry (the same request, with the same idempotency key). */
const RETRYABLE = new Set(["SERVICE_UNAVAILABLE", "RATE_LIMITED", "CONNECTION", "HTTP 502", "HTTP 503", "HTTP 504"]);

export function retryable(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE.has(code);
}

export async function post<T = Record<string, any>>(
  gateway: Gateway,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<Answer<T>> {
  const url = gateway.http();
  const started = performance.now();
  let via = new URL(url).host;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    via = response.headers.get("x-upstream")?.split(/,\s*/).at(-1) ?? via;
    const text = await response.text();
    const ms = performance.now() - started;
    let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = JSON.parse(text);
    } catch {
      return { code: `HTTP ${response.status}`, message: text.slice(0, 200), via, ms };
    }
    const [error] = body.errors ?? [];
    if (error) return { code: String(error.extensions?.code ?? `HTTP ${response.status}`), message: error.message, via, ms };
    return { data: body.data, via, ms };
  } catch (error) {
    const ms = performance.now() - started;
    const name = (error as Error).name;
    return { code: name === "TimeoutError" ? "TIMEOUT" : "CONNECTION", message: String((error as Error).message), via, ms };
  }
}

/** Counts of answers by operation and code ("ok" for data). */
export class Tally {
  private readonly counts = new Map<string, Map<string, number>>();

  add(operation: string, code: string | undefined): void {
    const byCode = this.counts.get(operation) ?? new Map<string, number>();
    byCode.set(code ?? "ok", (byCode.get(code ?? "ok") ?? 0) + 1);
    this.counts.set(operation, byCode);
  }

  of(operation: string): Map<string, number> {
    return this.counts.get(operation) ?? new Map();
  }

  operations(): string[] {
    return [...this.counts.keys()].sort();
  }

  /** `ok 120, CONNECTION 3, …` for one operation. */
  describe(operation: string): string {
    return [...this.of(operation)].map(([code, count]) => `${code} ${count}`).join(", ");
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A delay in [min, max). */
export const between = (min: number, max: number) => min + Math.random() * (max - min);
