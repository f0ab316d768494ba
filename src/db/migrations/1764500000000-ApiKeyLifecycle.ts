import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * What an operator reviews of a key: when it was last used (at most once a minute), when it expires,
 * and who revoked it — an admin (for good) or ADMIN_API_KEY moving on (the environment key may come
 * back when the variable names it again). Keys revoked before this migration count as revoked by an
 * admin: none of them comes back. The list reads unrevoked keys newest first.
 */
export class ApiKeyLifecycle1764500000000 implements MigrationInterface {
  name = "ApiKeyLifecycle1764500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        ADD COLUMN last_used_at DATETIME(3) NULL,
        ADD COLUMN expires_at DATETIME(3) NULL,
        ADD COLUMN revoked_by VARCHAR(16) NULL,
        ADD INDEX ix_api_keys_listing (revoked_at, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        DROP INDEX ix_api_keys_listing,
        DROP COLUMN revoked_by,
        DROP COLUMN expires_at,
        DROP COLUMN last_used_at`);
  }
}
