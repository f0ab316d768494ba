import { byId, groupedBy } from "../graphql/loaders.js";
import { Referral, ReferralEvent } from "./referral.entity.js";

export const referralById = byId(Referral);
export const eventsOfReferral = groupedBy(ReferralEvent, "referral_id", (event) => event.referralId);
