/** The rfis feature's public entry: what other features may use of it (the rest is its own). */
export { Rfi } from "./rfi.entity.js";
export { suggestPartners } from "./suggestions.js";
