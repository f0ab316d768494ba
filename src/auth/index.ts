/** The auth feature's public entry: what other features may use of it (the rest is its own). */
export { keyHashOf } from "./api-key.service.js";
export type { ApiKeyService } from "./api-key.service.js";
