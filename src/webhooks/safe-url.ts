import dns, { type LookupAddress, type LookupOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { badInput } from "../graphql/errors.js";

/**
 * Guards partner webhook endpoints against server-side request forgery: a partner must not be able to make
 * this server call loopback, the private network or the cloud metadata service (169.254.169.254, fd00:ec2::254).
 */

const FIELD = "input.url";
const MAX_URL_LENGTH = 2048;
/** getaddrinfo cannot be cancelled, but a slow resolver must not hold the mutation for long. */
const DNS_TIMEOUT_MS = 3000;
/** Ports a strict server posts to below 1024: web servers'. Others there are system services (SSH, SMTP…), not receivers. */
const WEB_PORTS = new Set([80, 443]);
const PRIVILEGED_BELOW = 1024;
/** Names that only ever mean something inside a network (RFC 6761, RFC 6762, ICANN's .internal). */
const INTERNAL_SUFFIXES = [".localhost", ".internal", ".local"];

/** Whether the 32 bits in two IPv6 parts, read as an IPv4 address, are public unicast. */
function isPublicV4(high: number, low: number): boolean {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]).range() === "unicast";
}

/** Whether an IP address (v4 or v6 text) is a public unicast address. Anything unparsable counts as not public. */
export function isPublicAddress(address: string): boolean {
  // isIP first: ipaddr.js also takes forms like "127.1" or "0x7f.0.0.1", which are better refused than guessed at.
  if (isIP(address) === 0) return false;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address); // ::ffff:a.b.c.d becomes a.b.c.d, judged as IPv4
  } catch {
    return false;
  }
  if (ip instanceof ipaddr.IPv4) return ip.range() === "unicast";
  const p = ip.parts;
  switch (ip.range()) {
    // ::/96 (deprecated IPv4-compatible, e.g. ::7f00:1) is "unicast" to ipaddr.js but never a real public host.
    case "unicast":
      return p.slice(0, 6).some((part) => part !== 0);
    // Transition addresses carry an IPv4 address that decides where the packets really go.
    case "6to4":
      return isPublicV4(p[1], p[2]);
    case "teredo": // server address, then the client address stored inverted
      return isPublicV4(p[2], p[3]) && isPublicV4(~p[6] & 0xffff, ~p[7] & 0xffff);
    case "rfc6052": // only the well-known NAT64 prefix 64:ff9b::/96; the local-use 64:ff9b:1::/48 is private
    case "rfc6145":
      return p[2] === 0 && isPublicV4(p[6], p[7]);
    default:
      return false;
  }
}

function notPublicError(message: string, hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: "EPUBLICONLY", hostname });
}

/** dns.lookup with all: true, given up after DNS_TIMEOUT_MS. */
async function lookupBounded(host: string): Promise<LookupAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("DNS lookup timed out"), { code: "ETIMEOUT" })), DNS_TIMEOUT_MS);
    timer.unref();
  });
  try {
    // Promise.race handles the loser's rejection too, so a late DNS failure is not an unhandled rejection.
    return await Promise.race([lookup(host, { all: true }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks a partner's webhook URL; returns it normalised. Messages never echo the URL (it may hold secrets). */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<string> {
  if (raw.length > MAX_URL_LENGTH) throw badInput(FIELD, `must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput(FIELD, "must be a valid absolute URL");
  }
  if (url.username !== "" || url.password !== "") throw badInput(FIELD, "must not contain credentials");
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    throw badInput(FIELD, allowPrivate ? "must use http or https" : "must use https");
  }
  const href = url.toString();
  if (href.length > MAX_URL_LENGTH) throw badInput(FIELD, `must be at most ${MAX_URL_LENGTH} characters`);
  if (allowPrivate) return href;
  if (!isAllowedPort(url)) throw badInput(FIELD, `must not use a port below ${PRIVILEGED_BELOW} other than 80 and 443`);

  // The URL parser has already normalised IPv4 forms like 0x7f.1 or 2130706433 to dotted decimal.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw badInput(FIELD, "must not point to a private or reserved address");
    return href;
  }
  const name = host.replace(/\.+$/, ""); // "localhost." is localhost too
  if (name === "localhost" || INTERNAL_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
    throw badInput(FIELD, "must not point to an internal host");
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookupBounded(host);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ETIMEOUT" ? "did not resolve in time" : "does not resolve";
    throw badInput(FIELD, `host ${name.slice(0, 253)} ${why}`);
  }
  // One private address is enough: a client connecting to the name may pick any of them.
  if (addresses.length === 0 || !addresses.every((a) => isPublicAddress(a.address))) {
    throw badInput(FIELD, "must not resolve to a private or reserved address");
  }
  return href;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;

/** dns.lookup that refuses non-public answers, so DNS rebinding after checkWebhookUrl cannot reach a private address. */
function lookupPublicOnly(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void {
  const done = typeof options === "function" ? options : callback!;
  const opts: LookupOptions = typeof options === "function" ? {} : typeof options === "number" ? { family: options } : options;
  // Always ask for every address: checking only the one handed back would let a mixed answer through later.
  dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
    if (err) return done(err);
    if (addresses.length === 0 || !addresses.every((a) => isPublicAddress(a.address))) {
      return done(notPublicError(`host ${hostname} resolves to a non-public address`, hostname));
    }
    if (opts.all) done(null, addresses);
    else done(null, addresses[0].address, addresses[0].family);
  });
}

/**
 * For node:http(s) request options (`lookup`); net calls it with all: true or all: false.
 * The cast only drops dns.lookup's types-only `__promisify__` member.
 */
export const publicOnlyLookup = lookupPublicOnly as unknown as typeof dns.lookup;

/** Whether the URL's port is one a strict server posts to: the scheme's own, 80, 443, or 1024 and above. */
function isAllowedPort(url: URL): boolean {
  const port = Number(url.port);
  return url.port === "" || WEB_PORTS.has(port) || port >= PRIVILEGED_BELOW;
}

/**
 * Refuses, before connecting, a target a strict server never posts to (an endpoint saved while
 * private targets were allowed): a port below 1024 other than 80 and 443, or a non-public IP-literal
 * host (node connects to literals without calling `lookup`). Names pass: `publicOnlyLookup` checks them.
 */
export function assertPublicTarget(target: URL): void {
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!isAllowedPort(target)) throw notPublicError(`port ${target.port} is not a web port`, host);
  if (isIP(host) !== 0 && !isPublicAddress(host)) {
    throw notPublicError(`${host} is not a public address`, host);
  }
}
