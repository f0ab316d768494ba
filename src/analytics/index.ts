/** The analytics feature's public entry: what other features may use of it (the rest is its own). */
export { teachesFit } from "./fit-scores.js";
export type { FitScores } from "./fit-scores.js";
export { answerCountsOf, countChanges, type AnswerCounts } from "./history-counters.js";
export { responsivenessFrom, responsivenessScore } from "./responsiveness.js";
