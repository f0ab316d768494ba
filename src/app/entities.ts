import { FitRescoring, PartnerCounter } from "../analytics/partner-counter.entity.js";
import { ApiKey } from "../auth/api-key.entity.js";
import { OutboxMessage } from "../outbox/outbox-message.entity.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { Referral, ReferralEvent } from "../referrals/referral.entity.js";
import { IdempotencyRecord } from "../rfis/idempotency-record.entity.js";
import { Rfi } from "../rfis/rfi.entity.js";
import { WebhookEndpoint } from "../webhooks/webhook-endpoint.entity.js";

/** Every table the features map, for the data source (src/db/data-source.ts). */
export const ENTITIES = [
  ApiKey,
  Partner,
  MarketingProfile,
  Rfi,
  IdempotencyRecord,
  Referral,
  ReferralEvent,
  PartnerCounter,
  FitRescoring,
  OutboxMessage,
  WebhookEndpoint,
];
