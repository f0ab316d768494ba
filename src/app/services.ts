import type { DataSource } from "typeorm";
import { PartnerResponsivenessResolver, StatsResolver } from "../analytics/stats.resolver.js";
import { StatsService } from "../analytics/stats.service.js";
import { ApiKeyListResolver, ApiKeyResolver } from "../auth/api-key.resolver.js";
import { ApiKeyService } from "../auth/api-key.service.js";
import { ChangeFeedResolver } from "../change-feed/change-feed.resolver.js";
import { ChangeFeedService } from "../change-feed/change-feed.service.js";
import type { Config } from "../config/config.js";
import type { ResolverClass, ResolverInstances } from "../graphql/context.js";
import { ChangeStream } from "../live/change-stream.js";
import type { LiveBus } from "../live/pubsub.js";
import { LiveFanOut } from "../live/fan-out.js";
import { LiveResolver } from "../live/live.resolver.js";
import type { Logger } from "../logging/logger.js";
import { Metrics } from "../metrics/metrics.js";
import { NotificationResolver } from "../notifications/notification.resolver.js";
import { NotificationService } from "../notifications/notification.service.js";
import { MarketingProfileResolver } from "../partners/marketing-profile.resolver.js";
import { PartnerResolver } from "../partners/partner.resolver.js";
import { PartnerService } from "../partners/partner.service.js";
import type { CommittedTransitions } from "../referrals/committed-transitions.js";
import { ReferralFinder } from "../referrals/referral.finder.js";
import { ReferralConnectionResolver, ReferralResolver } from "../referrals/referral.resolver.js";
import { ReferralService } from "../referrals/referral.service.js";
import { RfiResolver } from "../rfis/rfi.resolver.js";
import { RfiService } from "../rfis/rfi.service.js";
import { DuplicateFinder } from "../rfis/duplicates.js";
import { WebhookDeliveryResolver, WebhookEndpointResolver } from "../webhooks/webhook.resolver.js";
import { WebhookService } from "../webhooks/webhook.service.js";

/** The long-lived services, created once per server. */
export interface Services {
  apiKeys: ApiKeyService;
  partners: PartnerService;
  rfis: RfiService;
  referrals: ReferralService;
  referralFinder: ReferralFinder;
  /** `referralReceived` and `referralUpdated`, and the live end of `referralChanged`: one execution per group of subscribers. */
  fanOut: LiveFanOut;
  changeFeed: ChangeFeedService;
  /** `referralChanged`: the change feed, live. */
  changeStream: ChangeStream;
  stats: StatsService;
  notifications: NotificationService;
  webhooks: WebhookService;
  /** What GET /metrics exposes (src/metrics/metrics.ts). */
  metrics: Metrics;
}

export function createServices(db: DataSource, config: Config, transitions: CommittedTransitions, bus: LiveBus, logger: Logger): Services {
  const apiKeys = new ApiKeyService(db, (keyId) => bus.publishKeyRevoked(keyId), logger);
  const referrals = new ReferralService(db, config, transitions);
  const fanOut = new LiveFanOut();
  return {
    apiKeys,
    partners: new PartnerService(db, apiKeys),
    rfis: new RfiService(db, referrals, new DuplicateFinder(db, config.duplicateWindowMs)),
    referrals,
    referralFinder: new ReferralFinder(db),
    fanOut,
    changeFeed: new ChangeFeedService(db),
    changeStream: new ChangeStream(bus, fanOut, new ChangeFeedService(db, "live-changes"), db, logger),
    stats: new StatsService(db, config.stats),
    notifications: new NotificationService(db),
    webhooks: new WebhookService(db, config.webhooks),
    metrics: new Metrics(),
  };
}

/** Every resolver of the schema, each built with the services it calls. */
export function resolversOf(services: Services): ResolverInstances {
  const instances = new Map<ResolverClass, object>([
    [ApiKeyResolver, new ApiKeyResolver(services.apiKeys)],
    [ApiKeyListResolver, new ApiKeyListResolver(services.apiKeys)],
    [PartnerResolver, new PartnerResolver(services.partners)],
    [MarketingProfileResolver, new MarketingProfileResolver(services.partners)],
    [RfiResolver, new RfiResolver(services.rfis)],
    [ReferralResolver, new ReferralResolver(services.referralFinder, services.referrals)],
    [ReferralConnectionResolver, new ReferralConnectionResolver()],
    [StatsResolver, new StatsResolver(services.stats)],
    [PartnerResponsivenessResolver, new PartnerResponsivenessResolver()],
    [LiveResolver, new LiveResolver()],
    [NotificationResolver, new NotificationResolver(services.notifications)],
    [ChangeFeedResolver, new ChangeFeedResolver(services.changeFeed)],
    [WebhookEndpointResolver, new WebhookEndpointResolver(services.webhooks)],
    [WebhookDeliveryResolver, new WebhookDeliveryResolver(services.webhooks)],
  ]);
  return {
    get(resolverClass) {
      const instance = instances.get(resolverClass);
      if (!instance) throw new Error(`no instance of ${resolverClass.name}: add it to resolversOf (src/app/services.ts)`);
      return instance;
    },
  };
}

/** The resolver classes, for the schema (each has its instance in `resolversOf`). */
export const RESOLVERS = [
  ApiKeyResolver,
  ApiKeyListResolver,
  PartnerResolver,
  MarketingProfileResolver,
  RfiResolver,
  ReferralResolver,
  ReferralConnectionResolver,
  StatsResolver,
  PartnerResponsivenessResolver,
  LiveResolver,
  NotificationResolver,
  ChangeFeedResolver,
  WebhookEndpointResolver,
  WebhookDeliveryResolver,
] as const;
