import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A marketing profile may cap the referrals awaiting its answer (max_open_referrals) and pause
 * (paused_until); open_referrals counts them, kept in the transactions that change statuses
 * (src/referrals/record-transitions.ts), and starts from a count of what is open now.
 */
export class ProfileCapacity1764800000000 implements MigrationInterface {
  name = "ProfileCapacity1764800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE marketing_profiles
         ADD COLUMN max_open_referrals INT NULL AFTER active,
         ADD COLUMN paused_until DATETIME(3) NULL AFTER max_open_referrals,
         ADD COLUMN open_referrals INT NOT NULL DEFAULT 0 AFTER paused_until`,
    );
    await q.query(
      `UPDATE marketing_profiles m
         JOIN (SELECT profile_id, COUNT(*) AS n FROM referrals WHERE status IN ('NEW', 'EVALUATING') GROUP BY profile_id) counted
           ON counted.profile_id = m.id
       SET m.open_referrals = counted.n`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("ALTER TABLE marketing_profiles DROP COLUMN open_referrals, DROP COLUMN paused_until, DROP COLUMN max_open_referrals");
  }
}
