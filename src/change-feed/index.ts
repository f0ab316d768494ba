/** The change-feed feature's public entry: what other features may use of it (the rest is its own). */
export type { ChangeFeedService } from "./change-feed.service.js";
export { ReferralChange } from "./change-feed.types.js";
export { comparePositions, decodeCursor, encodeCursor, endOfBatch } from "./position.js";
export type { Position } from "./position.js";
export type { PlacedEvents } from "./sequencer.js";
