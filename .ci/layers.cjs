// The floors of src/, named once for the dependency-cruiser rules (.dependency-cruiser.cjs) and the
// check for circles between features (folder-cycles.mjs).

/** Pure vocabularies that live in a feature's folder but stand on the ground floor. */
const VOCABULARY_FILES = ["referrals/lifecycle", "rfis/company-size", "notifications/locale"];
const VOCABULARY = `^src/(${VOCABULARY_FILES.join("|")})\\.ts$`;
/** The ground floor: it imports no feature. */
const GROUND = `^src/(graphql|db|logging)/|${VOCABULARY}`;
/** The two features that depend on each other, as two halves of one thing (docs/ARCHITECTURE.md). */
const TWINS = ["referrals", "rfis"];

module.exports = { GROUND, TWINS };
