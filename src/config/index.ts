/** The config feature's public entry: what other features may use of it (the rest is its own). */
export type {
  JobsConfig,
  NotificationsConfig,
  PubSubConfig,
  RateLimitConfig,
  RetentionConfig,
  StatsConfig,
  WebhooksConfig,
} from "./config.js";
export type { TrustedProxies } from "./proxies.js";
