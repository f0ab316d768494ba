/** The metrics feature's public entry: what other features may use of it (the rest is its own). */
export type { Metrics } from "./metrics.js";
