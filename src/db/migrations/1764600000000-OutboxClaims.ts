import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A lane claims its channel's due messages in due order (src/outbox/outbox-lane.ts): an index in that
 * order, so that a claim reads about as many rows as it takes, whatever the backlog. Without it a
 * webhook claim read every pending delivery (0.4 s at 40,000), and the relay slowed as its backlog grew.
 */
export class OutboxClaims1764600000000 implements MigrationInterface {
  name = "OutboxClaims1764600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE outbox_messages ADD INDEX ix_outbox_messages_channel_due (channel, status, next_attempt_at, id)");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE outbox_messages DROP INDEX ix_outbox_messages_channel_due");
  }
}
