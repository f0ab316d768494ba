import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";
import { ConfigError, type Env } from "../config/values.js";

/** Which peers are proxies whose X-Forwarded-For to believe: their addresses, or a number of hops. */
export type TrustedProxies = string[] | number;

/** Whether the peer at `hop` (0 = the TCP peer) is a trusted proxy; express's `trust proxy` takes the same. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY: unset (nobody: the client is the TCP peer), a hop count, or a comma-separated list of
 * addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`. "true" is refused: it
 * would let any client choose its address, and with it its rate limits.
 */
export function readTrustedProxies(env: Env): TrustedProxies {
  const raw = env.TRUST_PROXY?.trim() ?? "";
  if (raw === "" || raw === "false") return [];
  if (/^\d+$/.test(raw)) return Number(raw);
  if (raw === "true") {
    throw new ConfigError(
      "TRUST_PROXY must name the proxies' addresses or a number of hops: true would believe any client's X-Forwarded-For",
    );
  }
  const proxies = raw.split(",").map((entry) => entry.trim());
  try {
    proxyaddr.compile(proxies);
  } catch (error) {
    throw new ConfigError(
      `TRUST_PROXY must be addresses, CIDR ranges, loopback, linklocal or uniquelocal, or a number (${(error as Error).message})`,
    );
  }
  return proxies;
}

export function proxyTrust(proxies: TrustedProxies): ProxyTrust {
  return typeof proxies === "number" ? (_address, hop) => hop < proxies : proxyaddr.compile(proxies);
}

/** The client's address: the TCP peer's, or the nearest untrusted one in X-Forwarded-For. */
export function clientAddress(request: IncomingMessage, trust: ProxyTrust): string {
  return proxyaddr(request, trust) || "unknown";
}
