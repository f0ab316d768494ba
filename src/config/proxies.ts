import proxyaddr from "proxy-addr";
import { ConfigError, type Env } from "./values.js";

/** Which peers are proxies whose X-Forwarded-For to believe: their addresses, or a number of hops. */
export type TrustedProxies = string[] | number;

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
