/** The redis feature's public entry: what other features may use of it (the rest is its own). */
export { CONNECT_TIMEOUT_MS, UnreachableServiceError, connectRedis, withTimeout } from "./connect.js";
