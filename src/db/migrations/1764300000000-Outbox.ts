import type { MigrationInterface, QueryRunner } from "typeorm";

/** The transactional outbox, and the language of each profile's contact and each customer. */
export class Outbox1764300000000 implements MigrationInterface {
  name = "Outbox1764300000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_messages (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        channel VARCHAR(16) NOT NULL,
        kind VARCHAR(40) NOT NULL,
        dedupe_key VARCHAR(120) NOT NULL,
        referral_id BIGINT UNSIGNED NOT NULL,
        recipient VARCHAR(254) NOT NULL,
        locale CHAR(2) NOT NULL,
        status VARCHAR(10) NOT NULL,
        attempts INT UNSIGNED NOT NULL DEFAULT 0,
        next_attempt_at DATETIME(3) NOT NULL,
        lease_token CHAR(36) NULL,
        created_at DATETIME(3) NOT NULL,
        sent_at DATETIME(3) NULL,
        last_error VARCHAR(1000) NULL,
        PRIMARY KEY (id),
        UNIQUE INDEX uq_outbox_messages_dedupe (dedupe_key),
        INDEX ix_outbox_messages_due (status, next_attempt_at),
        INDEX ix_outbox_messages_channel_status (channel, status, id),
        INDEX ix_outbox_messages_referral (referral_id, id),
        CONSTRAINT fk_outbox_messages_referral FOREIGN KEY (referral_id) REFERENCES referrals (id) ON DELETE RESTRICT ON UPDATE RESTRICT
      ) ENGINE=InnoDB`);
    await q.query("ALTER TABLE marketing_profiles ADD COLUMN locale CHAR(2) NOT NULL DEFAULT 'EN'");
    await q.query("ALTER TABLE rfis ADD COLUMN locale CHAR(2) NOT NULL DEFAULT 'EN'");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE rfis DROP COLUMN locale");
    await q.query("ALTER TABLE marketing_profiles DROP COLUMN locale");
    await q.query("DROP TABLE outbox_messages");
  }
}
