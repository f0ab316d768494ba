import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { RetentionConfig } from "../config/index.js";
import { tagged } from "../db/background.js";
import { deleteOlderThan, type RetainedTable } from "../db/retention.js";
import { DeliveryStatus } from "../outbox/index.js";
import type { Scheduler } from "./scheduler.js";

const RETENTION_JOB = "retention";
const EVERY_MS = 60 * 60 * 1000;
// A short lock, renewed after every batch: Agenda's lock timer outlives a run by half the lock's lifetime.
const JOB_LOCK_MS = 10_000;

/** E-mails and webhook deliveries that will not be attempted again (a PENDING one always stays). */
const FINISHED_MESSAGES: RetainedTable = {
  table: "outbox_messages",
  finished: { sql: "status IN (?, ?)", parameters: [DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED] },
};
/** Past its retention, a retried submitRfi with the same idempotency key creates a new RFI. */
const IDEMPOTENCY_RECORDS: RetainedTable = { table: "idempotency_records" };

/**
 * Keeps the tables that only grow from growing for ever: every hour (and at start), the outbox's
 * finished messages older than OUTBOX_RETENTION and the idempotency records older than
 * IDEMPOTENCY_RETENTION are deleted, in batches. Idempotent: any instance may run it, any number of times.
 */
export class RetentionJobs {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly db: DataSource,
    private readonly config: RetentionConfig,
    private readonly logger: Logger,
  ) {
    scheduler.agenda.define(RETENTION_JOB, (job) => this.prune(() => job.touch()), {
      concurrency: 1,
      lockLimit: 1,
      lockLifetime: JOB_LOCK_MS,
    });
  }

  async start(): Promise<void> {
    await this.scheduler.every(EVERY_MS, RETENTION_JOB);
  }

  private async prune(stillRunning: () => Promise<unknown>): Promise<void> {
    const q = tagged(this.db, RETENTION_JOB);
    const now = Date.now();
    const messages = await deleteOlderThan(q, FINISHED_MESSAGES, new Date(now - this.config.outboxMs), { afterBatch: stillRunning });
    const idempotencyRecords = await deleteOlderThan(q, IDEMPOTENCY_RECORDS, new Date(now - this.config.idempotencyMs), {
      afterBatch: stillRunning,
    });
    if (messages + idempotencyRecords > 0) this.logger.info({ messages, idempotencyRecords }, "deleted rows past their retention");
  }
}
