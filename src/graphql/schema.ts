import { createPubSub } from "@graphql-yoga/subscription";
import { printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { StatsResolver, PartnerResponsivenessResolver } from "../analytics/stats.resolver.js";
import { ApiKeyListResolver, ApiKeyResolver } from "../auth/api-key.resolver.js";
import { ChangeFeedResolver } from "../change-feed/change-feed.resolver.js";
import { WebhookDeliveryResolver, WebhookEndpointResolver } from "../webhooks/webhook.resolver.js";
import { authChecker } from "../auth/auth-checker.js";
import { ReferralFeedResolver } from "../live/referral-feed.resolver.js";
import { MarketingProfileResolver } from "../partners/marketing-profile.resolver.js";
import { NotificationResolver } from "../notifications/notification.resolver.js";
import { PartnerResolver } from "../partners/partner.resolver.js";
import { ReferralConnectionResolver, ReferralResolver } from "../referrals/referral.resolver.js";
import { RfiResolver } from "../rfis/rfi.resolver.js";
import { DateTimeScalar } from "./scalars.js";
import { validateArguments } from "./validation.js";

const resolvers = [
  ApiKeyResolver,
  ApiKeyListResolver,
  PartnerResolver,
  MarketingProfileResolver,
  RfiResolver,
  ReferralResolver,
  ReferralConnectionResolver,
  StatsResolver,
  PartnerResponsivenessResolver,
  ReferralFeedResolver,
  NotificationResolver,
  ChangeFeedResolver,
  WebhookEndpointResolver,
  WebhookDeliveryResolver,
] as const;

let built: Promise<GraphQLSchema> | undefined;

/** The executable schema; type-graphql's metadata is global, so it is built once per process. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers,
    authChecker,
    validateFn: validateArguments,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // type-graphql insists on one; the live feed resolvers subscribe through their own.
    pubSub: createPubSub(),
  });
  return built;
}

const HEADER = `# Emitted by type-graphql from src/ (npm run schema); do not edit by hand.\n\n`;

/** The SDL committed as schema/schema.graphql. */
export async function printAppSchema(): Promise<string> {
  return `${HEADER}${printSchema(await buildAppSchema())}\n`;
}
