import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** An outbox channel's backlog: messages waiting, and the age of the oldest one (0 when none waits). */
export interface OutboxBacklog {
  pending: number;
  oldestAgeSeconds: number;
}

/** Where the gauges read their values at each scrape (set once the server has them: `watch`). */
export interface MetricSources {
  pool?: () => { inUse: number; idle: number; waiting: number };
  live?: () => { sockets: number; subscriptions: number };
  /** Every channel's backlog (channels with none included, at 0); undefined when it could not be read. */
  outbox?: () => Promise<Map<string, OutboxBacklog> | undefined>;
}

/**
 * Every metric the server exposes on GET /metrics, defined once. Labels take values from small fixed
 * sets (operation names the schema knows, outcomes, channels), so that series never grow with traffic.
 */
export class Metrics {
  readonly registry = new Registry();

  private sources: MetricSources = {};
  /** The outbox read of the scrape under way: both outbox gauges share it. */
  private outboxRead: Promise<void> | undefined;

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

  readonly executions = new Counter({
    name: "graphql_executions_total",
    help: "GraphQL operations executed over HTTP, by path: compiled (a query seen often, graphql-jit) or interpreted (graphql-js).",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });

  readonly poolConnections = new Gauge({
    name: "db_pool_connections",
    help: "MySQL pool connections of this instance, by state (in_use, idle, waiting: operations waiting for one).",
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: () => {
      const usage = this.sources.pool?.();
      if (!usage) return;
      this.poolConnections.set({ state: "in_use" }, usage.inUse);
      this.poolConnections.set({ state: "idle" }, usage.idle);
      this.poolConnections.set({ state: "waiting" }, usage.waiting);
    },
  });

  readonly liveSockets = new Gauge({
    name: "live_sockets",
    help: "Open graphql-ws sockets on this instance.",
    registers: [this.registry],
    collect: () => {
      const live = this.sources.live?.();
      if (live) this.liveSockets.set(live.sockets);
    },
  });

  readonly liveSubscriptions = new Gauge({
    name: "live_subscriptions",
    help: "Live subscriptions on this instance.",
    registers: [this.registry],
    collect: () => {
      const live = this.sources.live?.();
      if (live) this.liveSubscriptions.set(live.subscriptions);
    },
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
    collect: () => this.readOutbox(),
  });

  readonly outboxOldestPendingAge = new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest outbox message waiting for delivery, by channel; 0 when none waits.",
    labelNames: ["channel"] as const,
    registers: [this.registry],
    collect: () => this.readOutbox(),
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

  /** Where the gauges read their values from now on (the pool, the live server, the outbox). */
  watch(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One outbox read per scrape for both outbox gauges; a failed read keeps the last values. */
  private readOutbox(): Promise<void> {
    const read = this.sources.outbox;
    if (!read) return Promise.resolve();
    this.outboxRead ??= read()
      .then((backlog) => {
        for (const [channel, { pending, oldestAgeSeconds }] of backlog ?? []) {
          this.outboxPending.set({ channel }, pending);
          this.outboxOldestPendingAge.set({ channel }, oldestAgeSeconds);
        }
      })
      .catch(() => undefined)
      .finally(() => (this.outboxRead = undefined));
    return this.outboxRead;
  }
}
