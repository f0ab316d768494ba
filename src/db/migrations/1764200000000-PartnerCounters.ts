import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The counters as counted from the rows when this migration was written (analytics/history-counters.ts,
 * recountCounters, rebuilds them with today's rules): a migration does the same work whatever the code
 * around it becomes.
 */
const FIRST_COUNT = [
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'DECIDED', '' COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('NEGOTIATING', 'WON', 'LOST'))
   FROM referrals r WHERE r.status IN ('NEGOTIATING', 'WON', 'LOST', 'IGNORED', 'DECLINED') GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'COMPANY_SIZE', r.company_size COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('NEGOTIATING', 'WON', 'LOST'))
   FROM referrals r WHERE r.status IN ('NEGOTIATING', 'WON', 'LOST', 'IGNORED', 'DECLINED') GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'REGION', r.region COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('NEGOTIATING', 'WON', 'LOST'))
   FROM referrals r WHERE r.status IN ('NEGOTIATING', 'WON', 'LOST', 'IGNORED', 'DECLINED') GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'INDUSTRY', LOWER(r.industry) COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('NEGOTIATING', 'WON', 'LOST'))
   FROM referrals r WHERE r.status IN ('NEGOTIATING', 'WON', 'LOST', 'IGNORED', 'DECLINED') AND r.industry IS NOT NULL GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'KEYWORD', LOWER(k.keyword) COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('NEGOTIATING', 'WON', 'LOST'))
   FROM rfis f CROSS JOIN JSON_TABLE(f.keywords, '$[*]' COLUMNS (keyword VARCHAR(100) PATH '$')) AS k JOIN referrals r ON r.rfi_id = f.id WHERE r.status IN ('NEGOTIATING', 'WON', 'LOST', 'IGNORED', 'DECLINED') GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'CLOSED', '' COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('WON'))
   FROM referrals r WHERE r.status IN ('WON', 'LOST') GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'DEAL_BAND', CONCAT(CASE WHEN r.deal_value < 10000 THEN 'under 10k' WHEN r.deal_value < 100000 THEN '10k–100k' WHEN r.deal_value < 1000000 THEN '100k–1M' ELSE '1M and more' END, ' ', r.deal_currency) COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.status IN ('WON'))
   FROM referrals r WHERE r.status IN ('WON', 'LOST') AND r.deal_value IS NOT NULL AND r.deal_currency IS NOT NULL GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'LEFT_NEW', '' COLLATE utf8mb4_bin AS v, COUNT(*), SUM(r.answered_at IS NOT NULL AND r.answered_at <= r.received_at + INTERVAL 24 HOUR)
   FROM referrals r WHERE r.status <> 'NEW' GROUP BY r.partner_id, v`,
  `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
   SELECT r.partner_id, 'MISSED', '' COLLATE utf8mb4_bin AS v, COUNT(*), 0
   FROM referrals r WHERE r.status = 'MISSED' GROUP BY r.partner_id, v`,
];

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
    for (const statement of FIRST_COUNT) await q.query(statement);
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
