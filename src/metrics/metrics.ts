import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Every metric the server exposes on GET /metrics, defined once. Labels take values from small fixed
 * sets (operation names the schema knows, outcomes, channels), so that series never grow with traffic.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly operations = new Counter({
    name: "graphql_operations_total",
    help: "GraphQL operations, by operation name, type and outcome (ok, error, refused).",
    labelNames: ["operation", "type", "outcome"] as const,
    registers: [this.registry],
  });

  readonly operationDuration = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: "Time to answer a GraphQL operation, by operation name, type and outcome.",
    labelNames: ["operation", "type", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly poolConnections = new Gauge({
    name: "db_pool_connections",
    help: "MySQL pool connections of this instance, by state (in_use, idle, waiting: operations waiting for one).",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  readonly liveSockets = new Gauge({ name: "live_sockets", help: "Open graphql-ws sockets on this instance.", registers: [this.registry] });

  readonly liveSubscriptions = new Gauge({
    name: "live_subscriptions",
    help: "Live subscriptions on this instance.",
    registers: [this.registry],
  });

  readonly deadlineLateness = new Histogram({
    name: "deadline_lateness_seconds",
    help: "How long after its deadline a referral was expired (MISSED or EXPIRED).",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });

  readonly outboxPending = new Gauge({
    name: "outbox_pending",
    help: "Outbox messages waiting for delivery, by channel (email, webhook).",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });

  readonly outboxOldestPendingAge = new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest outbox message waiting for delivery, by channel; 0 when none waits.",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });

  readonly notificationAttempts = new Counter({
    name: "notification_attempts_total",
    help: "Attempts to send an e-mail, by outcome (delivered, failed, obsolete).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: "webhook_attempts_total",
    help: "Attempts to deliver a webhook, by outcome (delivered, failed, obsolete).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: "rate_limited_total",
    help: "Requests, subscriptions and sockets refused by a rate limit, by what was limited (key, anonymous, failed_auth, sockets).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
