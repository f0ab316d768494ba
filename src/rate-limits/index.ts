/** The rate-limits feature's public entry: what other features may use of it (the rest is its own). */
export { documentCost } from "./cost.js";
export { isRefusedKey, rateLimitedError } from "./rate-limits.js";
export type { RateLimitRefusal, RateLimits } from "./rate-limits.js";
