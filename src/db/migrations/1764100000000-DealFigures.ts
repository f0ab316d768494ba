import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * What statistics and fit scores read, kept on the referral itself: the RFI's company size and
 * industry (like its region), the deal as statistics count it (final when WON, else the latest
 * estimate) and the partner's fit score with its reasons.
 */
export class DealFigures1764100000000 implements MigrationInterface {
  name = "DealFigures1764100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE referrals
        ADD COLUMN company_size VARCHAR(24) NULL AFTER region,
        ADD COLUMN industry VARCHAR(100) NULL AFTER company_size,
        ADD COLUMN deal_value DECIMAL(15,2) NULL,
        ADD COLUMN deal_currency CHAR(3) NULL,
        ADD COLUMN deal_close_date DATE NULL,
        ADD COLUMN fit_score DECIMAL(5,4) NULL,
        ADD COLUMN fit_reasons TEXT NULL`);
    await q.query(`
      UPDATE referrals r JOIN rfis f ON f.id = r.rfi_id
      SET r.company_size = f.company_size, r.industry = f.industry`);
    await q.query(`
      UPDATE referrals SET
        deal_value = CASE WHEN status = 'WON' THEN final_deal_value ELSE estimated_deal_value END,
        deal_currency = CASE WHEN status = 'WON' THEN final_currency ELSE estimated_currency END,
        deal_close_date = CASE WHEN status = 'WON' THEN final_close_date ELSE estimated_close_date END`);
    await q.query(`ALTER TABLE referrals MODIFY company_size VARCHAR(24) NOT NULL`);
    // Deal statistics read this index alone: the deal and the dimensions analysts filter and group by most.
    await q.query(`
      ALTER TABLE referrals
        ADD KEY ix_referrals_deal (deal_currency, deal_value, received_at, region, partner_id, status),
        ADD KEY ix_referrals_partner_fit (partner_id, fit_score, id),
        ADD KEY ix_referrals_fit (fit_score, id),
        ADD KEY ix_referrals_partner_answered (partner_id, answered_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE referrals
        DROP KEY ix_referrals_deal,
        DROP KEY ix_referrals_partner_fit,
        DROP KEY ix_referrals_fit,
        DROP KEY ix_referrals_partner_answered,
        DROP COLUMN company_size,
        DROP COLUMN industry,
        DROP COLUMN deal_value,
        DROP COLUMN deal_currency,
        DROP COLUMN deal_close_date,
        DROP COLUMN fit_score,
        DROP COLUMN fit_reasons`);
  }
}
