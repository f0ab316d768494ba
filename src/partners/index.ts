/** The partners feature's public entry: what other features may use of it (the rest is its own). */
export { normaliseKeywords } from "./keywords.js";
export { MarketingProfile } from "./marketing-profile.entity.js";
export { Partner } from "./partner.entity.js";
export { MAX_KEYWORDS, MAX_KEYWORD_LENGTH, MAX_NAME_LENGTH } from "./partner.inputs.js";
export { partnerById, profileById } from "./partner.loaders.js";
