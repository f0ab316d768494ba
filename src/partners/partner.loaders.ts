import { byId, groupedBy } from "../graphql/loaders.js";
import { MarketingProfile } from "./marketing-profile.entity.js";
import { Partner } from "./partner.entity.js";

export const partnerById = byId(Partner);
export const profileById = byId(MarketingProfile);
export const profilesOfPartner = groupedBy(MarketingProfile, "partner_id", (profile) => profile.partnerId);
