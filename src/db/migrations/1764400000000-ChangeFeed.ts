import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The change feed (each event gets its partner, the referral's version after it, and the batch that
 * placed it in commit order) and webhooks (endpoints, and their deliveries on the outbox).
 */
export class ChangeFeed1764400000000 implements MigrationInterface {
  name = "ChangeFeed1764400000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE referral_events
        ADD COLUMN partner_id BIGINT UNSIGNED NULL AFTER referral_id,
        ADD COLUMN version INT UNSIGNED NULL AFTER to_status,
        ADD COLUMN feed_batch BIGINT UNSIGNED NULL`);
    // Every existing change is committed: one batch, 0, in id order. A referral's versions count its events.
    await q.query(`
      UPDATE referral_events e
        JOIN referrals r ON r.id = e.referral_id
        JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY referral_id ORDER BY id) AS n FROM referral_events) v ON v.id = e.id
      SET e.partner_id = r.partner_id, e.version = v.n, e.feed_batch = 0`);
    await q.query(`
      ALTER TABLE referral_events
        MODIFY partner_id BIGINT UNSIGNED NOT NULL,
        MODIFY version INT UNSIGNED NOT NULL,
        ADD INDEX ix_referral_events_feed (feed_batch, id),
        ADD INDEX ix_referral_events_partner_feed (partner_id, feed_batch, id)`);
    await q.query(`
      CREATE TABLE feed_sequence (
        id TINYINT UNSIGNED NOT NULL,
        last_batch BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (id)
      ) ENGINE=InnoDB`);
    await q.query("INSERT INTO feed_sequence (id, last_batch) VALUES (1, 0)");
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        partner_id BIGINT UNSIGNED NOT NULL,
        url VARCHAR(2048) NOT NULL,
        events VARCHAR(100) NOT NULL,
        secret VARCHAR(100) NOT NULL,
        enabled TINYINT(1) NOT NULL,
        disabled_reason VARCHAR(500) NULL,
        failing_since DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (id),
        INDEX ix_webhook_endpoints_partner (partner_id, enabled),
        CONSTRAINT fk_webhook_endpoints_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT
      ) ENGINE=InnoDB`);
    await q.query(`
      ALTER TABLE outbox_messages
        MODIFY referral_id BIGINT UNSIGNED NULL,
        ADD COLUMN endpoint_id BIGINT UNSIGNED NULL,
        ADD COLUMN event_id BIGINT UNSIGNED NULL,
        ADD COLUMN last_attempt_at DATETIME(3) NULL,
        ADD COLUMN last_response_status SMALLINT UNSIGNED NULL,
        ADD INDEX ix_outbox_messages_endpoint (endpoint_id, id),
        ADD INDEX ix_outbox_messages_endpoint_referral (endpoint_id, referral_id, status, id),
        ADD CONSTRAINT fk_outbox_messages_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE ON UPDATE RESTRICT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("DELETE FROM outbox_messages WHERE endpoint_id IS NOT NULL OR referral_id IS NULL");
    await q.query(`
      ALTER TABLE outbox_messages
        DROP FOREIGN KEY fk_outbox_messages_endpoint,
        DROP INDEX ix_outbox_messages_endpoint_referral,
        DROP INDEX ix_outbox_messages_endpoint,
        DROP COLUMN last_response_status,
        DROP COLUMN last_attempt_at,
        DROP COLUMN event_id,
        DROP COLUMN endpoint_id,
        MODIFY referral_id BIGINT UNSIGNED NOT NULL`);
    await q.query("DROP TABLE webhook_endpoints");
    await q.query("DROP TABLE feed_sequence");
    await q.query(`
      ALTER TABLE referral_events
        DROP INDEX ix_referral_events_partner_feed,
        DROP INDEX ix_referral_events_feed,
        DROP COLUMN feed_batch,
        DROP COLUMN version,
        DROP COLUMN partner_id`);
  }
}
