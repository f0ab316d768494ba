/** The referrals feature's public entry: what other features may use of it (the rest is its own). */
export type { Transition } from "./record-transitions.js";
export type { ReferralExpiry } from "./referral-expiry.js";
export { Referral } from "./referral.entity.js";
export { referralById } from "./referral.loaders.js";
