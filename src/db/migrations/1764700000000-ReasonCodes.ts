import type { MigrationInterface, QueryRunner } from "typeorm";

/** A referral ignored, declined or lost keeps the coded reason it was given (src/referrals/reason-code.ts), for statistics. */
export class ReasonCodes1764700000000 implements MigrationInterface {
  name = "ReasonCodes1764700000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE referrals ADD COLUMN reason_code VARCHAR(32) NULL AFTER reason");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE referrals DROP COLUMN reason_code");
  }
}
