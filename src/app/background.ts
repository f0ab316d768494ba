import type { Counter } from "prom-client";
import type { DataSource } from "typeorm";
import { FitScores } from "../analytics/fit-scores.js";
import { ChangeSequencer } from "../change-feed/sequencer.js";
import type { Config } from "../config/config.js";
import { DeadlineJobs } from "../jobs/deadline-jobs.js";
import { FitRescoreJobs } from "../jobs/fit-jobs.js";
import { RelayJobs } from "../jobs/relay-jobs.js";
import { ReminderJobs } from "../jobs/reminder-jobs.js";
import { RetentionJobs } from "../jobs/retention-jobs.js";
import type { Scheduler } from "../jobs/scheduler.js";
import type { LiveBus } from "../live/pubsub.js";
import type { Logger } from "../logging/logger.js";
import { EmailChannel } from "../notifications/email-channel.js";
import { Mailer } from "../notifications/mailer.js";
import { EMAIL_CHANNEL } from "../notifications/notification-kind.js";
import { writeChangeEmails } from "../notifications/notification-writer.js";
import { OutboxRelay } from "../outbox/outbox-relay.js";
import type { CommittedTransitions } from "../referrals/committed-transitions.js";
import { ReferralExpiry } from "../referrals/referral-expiry.js";
import { WebhookChannel } from "../webhooks/webhook-channel.js";
import { WEBHOOK_CHANNEL, writeWebhookDeliveries } from "../webhooks/webhook-writer.js";
import type { Services } from "./services.js";

/** What runs beside the requests: the jobs, the sequencer and the outbox relay. */
export interface Background {
  deadlines: DeadlineJobs;
  fitScores: FitScores;
  outbox: OutboxRelay;
  sequencer: ChangeSequencer;
  mailer: Mailer;
  /** Runs `work` with placement, deliveries and fit scoring held back on this instance, then lets them catch up. */
  holdLoops<T>(work: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export interface BackgroundParts {
  db: DataSource;
  config: Config;
  services: Services;
  bus: LiveBus;
  transitions: CommittedTransitions;
  scheduler: Scheduler;
  logger: Logger;
  outboxLeaseMs?: number;
}

/** The relay with its two channels, each attempt counted in the metrics. */
function outboxRelay({ db, config, services, logger, outboxLeaseMs }: BackgroundParts, mailer: Mailer): OutboxRelay {
  const attempts: Record<string, Counter<"outcome"> | undefined> = {
    [EMAIL_CHANNEL]: services.metrics.notificationAttempts,
    [WEBHOOK_CHANNEL]: services.metrics.webhookAttempts,
  };
  const channels = [
    new EmailChannel(db, mailer, config.notifications, config),
    new WebhookChannel(db, config.webhooks, (message, failure) => services.webhooks.attempted(message, failure)),
  ];
  const relay = new OutboxRelay(db, channels, logger, (channel, outcome) => attempts[channel]?.inc({ outcome }), outboxLeaseMs);
  services.webhooks.relayWith((channel) => relay.nudge(channel));
  return relay;
}

/**
 * The one way out: the sequencer places committed events and, in the same transaction, derives the
 * e-mails and webhook deliveries they call for; after commit it tells every instance of the batch
 * (the live change stream) and starts the relay's lanes that got work.
 */
function sequencerFor({ db, bus, logger, services }: BackgroundParts, outbox: OutboxRelay): ChangeSequencer {
  const sequencer = new ChangeSequencer(db, logger);
  // This instance's own subscribers get its batches without reading them back; the others hear of them on the bus.
  sequencer.handChangesTo(services.changeStream);
  sequencer.writeWith(EMAIL_CHANNEL, writeChangeEmails);
  sequencer.writeWith(WEBHOOK_CHANNEL, writeWebhookDeliveries);
  sequencer.onBatch((batch, written) => {
    bus.publishFeedBatch(batch);
    for (const [channel, rows] of written) if (rows > 0) outbox.nudge(channel);
  });
  return sequencer;
}

/**
 * The in-process consumers of committed transitions, on the instance that made them, in this order:
 * 1. the sequencer, first: it places the events and, in its own transaction, derives their e-mails and
 *    webhook deliveries, then publishes the batch to every instance's live subscriptions (it does not
 *    wait here), so that nothing below delays what the outside hears;
 * 2. the fit score of each new referral (or changed estimate): queued, scored in batches off the request path;
 * 3. rescoring of the partner's other open referrals after a decision (a job, coalesced);
 * 4. the deadline job of each new deadline within the planning horizon.
 * Each is derived data or a plan: a consumer that fails is logged, and the sweeps catch up.
 */
function listenToTransitions({ transitions }: BackgroundParts, parts: Background, rescoring: FitRescoreJobs): void {
  transitions.listen(() => parts.sequencer.nudge(true));
  transitions.listen((committed) => parts.fitScores.refresh(committed));
  transitions.listen((committed) => rescoring.afterTransitions(committed));
  transitions.listen((committed) => parts.deadlines.schedule(committed));
}

/** Starts the jobs (on the scheduler, already connected), the relay and the sequencer, and the consumers of committed transitions. */
export async function startBackground(parts: BackgroundParts): Promise<Background> {
  const { db, config, services, transitions, scheduler, logger } = parts;
  const lateness = (seconds: number) => services.metrics.deadlineLateness.observe(seconds);
  const deadlines = new DeadlineJobs(scheduler, new ReferralExpiry(db, config, transitions, lateness), config.jobs, logger);
  const fitScores = new FitScores(db, logger);
  const rescoring = new FitRescoreJobs(scheduler, fitScores, config.jobs.sweepEveryMs, logger);
  const mailer = new Mailer(config.notifications);
  const outbox = outboxRelay(parts, mailer);
  const sequencer = sequencerFor(parts, outbox);
  const holdDeliveries = <T>(work: () => Promise<T>) => outbox.holding(() => sequencer.holding(work));
  // A sweep expiring a backlog holds deliveries and placement back on this instance until it is done.
  deadlines.holdDeliveriesWith(holdDeliveries);
  const relayPoll = new RelayJobs(scheduler, outbox);
  const reminders = new ReminderJobs(scheduler, db, outbox, config.notifications.reminderBeforeMs, config.jobs.sweepEveryMs, logger);
  const retention = new RetentionJobs(scheduler, db, config.retention, logger);
  await scheduler.start();
  await deadlines.start();
  rescoring.start();
  await relayPoll.start();
  outbox.nudge();
  await reminders.start();
  await retention.start();
  sequencer.start();
  if (mailer.directory) logger.info({ directory: mailer.directory }, "SMTP_URL is not set: e-mails are written as .eml files here");
  const background: Background = {
    deadlines,
    fitScores,
    outbox,
    sequencer,
    mailer,
    holdLoops: (work) => fitScores.holding(() => holdDeliveries(work)),
    async stop() {
      rescoring.stop();
      await sequencer.stop();
      await fitScores.stop();
      await outbox.stop();
      await deadlines.stop();
      mailer.close();
    },
  };
  listenToTransitions(parts, background, rescoring);
  return background;
}
