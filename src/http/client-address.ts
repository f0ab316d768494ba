import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";
import type { TrustedProxies } from "../config/index.js";

/** Whether the peer at `hop` (0 = the TCP peer) is a trusted proxy; express's `trust proxy` takes the same. */
export type ProxyTrust = (address: string, hop: number) => boolean;

export function proxyTrust(proxies: TrustedProxies): ProxyTrust {
  return typeof proxies === "number" ? (_address, hop) => hop < proxies : proxyaddr.compile(proxies);
}

/** The client's address: the TCP peer's, or the nearest untrusted one in X-Forwarded-For. */
export function clientAddress(request: IncomingMessage, trust: ProxyTrust): string {
  return proxyaddr(request, trust) || "unknown";
}
