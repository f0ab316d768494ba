import type { MigrationInterface, QueryRunner } from "typeorm";
import { recountCounters } from "../../analytics/history-counters.js";

/**
 * The counters of each partner's history that fit scores and routing read instead of the history
 * itself, counted once from the rows; and where each partner's fit scores stand, so that rescoring
 * runs off the request path, one run per partner at a time.
 */
export class PartnerCounters1764200000000 implements MigrationInterface {
  name = "PartnerCounters1764200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE partner_counters (
        partner_id BIGINT UNSIGNED NOT NULL,
        kind VARCHAR(16) NOT NULL,
        value VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        total INT UNSIGNED NOT NULL,
        hits INT UNSIGNED NOT NULL,
        PRIMARY KEY (partner_id, kind, value),
        CONSTRAINT fk_partner_counters_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT
      ) ENGINE=InnoDB`);
    await q.query(`
      CREATE TABLE fit_rescoring (
        partner_id BIGINT UNSIGNED NOT NULL,
        scored_revision INT UNSIGNED NOT NULL DEFAULT 0,
        leased_until DATETIME(3) NULL,
        lease_token CHAR(36) NULL,
        PRIMARY KEY (partner_id),
        CONSTRAINT fk_fit_rescoring_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT
      ) ENGINE=InnoDB`);
    await recountCounters(q);
    // The scores stored so far were computed by the same model from the same history.
    await q.query(`
      INSERT INTO fit_rescoring (partner_id, scored_revision)
      SELECT partner_id, SUM(total) FROM partner_counters WHERE kind IN ('DECIDED', 'CLOSED') GROUP BY partner_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query("DROP TABLE fit_rescoring");
    await q.query("DROP TABLE partner_counters");
  }
}
