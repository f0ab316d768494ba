import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * An RFI keeps its customer's e-mail as duplicates compare it (trimmed, lower case) and its domain,
 * each indexed with the submission time: finding other RFIs of the same customer is then a range of
 * an index (src/rfis/duplicates.ts, which never looks up a public mailbox provider's domain).
 */
export class PossibleDuplicates1764900000000 implements MigrationInterface {
  name = "PossibleDuplicates1764900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE rfis
         ADD COLUMN customer_email_normalised VARCHAR(254) NOT NULL DEFAULT '' AFTER customer_email,
         ADD COLUMN customer_domain VARCHAR(254) NULL AFTER customer_email_normalised,
         ADD INDEX ix_rfis_customer_email (customer_email_normalised, submitted_at),
         ADD INDEX ix_rfis_customer_domain (customer_domain, region, submitted_at)`,
    );
    await q.query(
      `UPDATE rfis SET customer_email_normalised = LOWER(TRIM(customer_email)),
         customer_domain = NULLIF(LOWER(SUBSTRING_INDEX(TRIM(customer_email), '@', -1)), '')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE rfis DROP INDEX ix_rfis_customer_domain, DROP INDEX ix_rfis_customer_email,
         DROP COLUMN customer_domain, DROP COLUMN customer_email_normalised`,
    );
  }
}
