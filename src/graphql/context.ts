import type { StatsService } from "../analytics/stats.service.js";
import type { ChangeFeedService } from "../change-feed/change-feed.service.js";
import type { ChangeStream } from "../live/change-stream.js";
import type { WebhookService } from "../webhooks/webhook.service.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ApiKeyService } from "../auth/api-key.service.js";
import type { LiveRequest, ReferralFeed } from "../live/referral-feed.js";
import type { Caller } from "../auth/caller.js";
import type { NotificationService } from "../notifications/notification.service.js";
import type { PartnerService } from "../partners/partner.service.js";
import type { ReferralFinder } from "../referrals/referral.finder.js";
import type { ReferralService } from "../referrals/referral.service.js";
import type { RfiService } from "../rfis/rfi.service.js";
import type { Loaders } from "./loaders.js";
import type { RequestScope } from "./request-scope.js";

/** The long-lived services, created once per server. */
export interface Services {
  apiKeys: ApiKeyService;
  partners: PartnerService;
  rfis: RfiService;
  referrals: ReferralService;
  referralFinder: ReferralFinder;
  feed: ReferralFeed;
  changeFeed: ChangeFeedService;
  /** `referralChanged`: the change feed, live (set once the server has started it). */
  changeStream: ChangeStream;
  stats: StatsService;
  notifications: NotificationService;
  webhooks: WebhookService;
  /** What GET /metrics exposes (src/metrics/metrics.ts). */
  metrics: Metrics;
}

/** What every resolver receives: who calls, the services, and this request's (or this live event's) loaders. */
export interface RequestContext {
  caller: Caller;
  services: Services;
  loaders: Loaders;
  /** Over a WebSocket: the operation as the socket asked for it, for the live feed. */
  live?: LiveRequest;
  /** Over HTTP: the request's id and logger (src/graphql/request-scope.ts). */
  request?: RequestScope;
}
