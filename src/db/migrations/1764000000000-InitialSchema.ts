import type { MigrationInterface, QueryRunner } from "typeorm";

/** The tables, in the order their foreign keys need. */
const TABLES = [
  `CREATE TABLE partners (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(200) NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_partners_name (name)
  ) ENGINE=InnoDB`,
  `CREATE TABLE marketing_profiles (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    partner_id BIGINT UNSIGNED NOT NULL,
    region CHAR(2) NOT NULL,
    location VARCHAR(200) NOT NULL,
    contact_email VARCHAR(254) NOT NULL,
    keywords TEXT NOT NULL,
    preferred_company_sizes TEXT NOT NULL,
    active TINYINT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_marketing_profiles_partner_region_location (partner_id, region, location),
    KEY ix_marketing_profiles_region_active (region, active),
    CONSTRAINT fk_marketing_profiles_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT
  ) ENGINE=InnoDB`,
  `CREATE TABLE api_keys (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    label VARCHAR(200) NOT NULL,
    role VARCHAR(16) NOT NULL,
    partner_id BIGINT UNSIGNED NULL,
    secret_hash CHAR(64) NOT NULL,
    from_environment TINYINT NOT NULL DEFAULT 0,
    created_at DATETIME(3) NOT NULL,
    revoked_at DATETIME(3) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_keys_secret_hash (secret_hash),
    KEY ix_api_keys_partner (partner_id),
    CONSTRAINT fk_api_keys_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT
  ) ENGINE=InnoDB`,
  `CREATE TABLE rfis (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    need TEXT NOT NULL,
    company_size VARCHAR(24) NOT NULL,
    industry VARCHAR(100) NULL,
    region CHAR(2) NOT NULL,
    keywords TEXT NOT NULL,
    customer_company_name VARCHAR(200) NOT NULL,
    customer_contact_name VARCHAR(200) NOT NULL,
    customer_email VARCHAR(254) NOT NULL,
    customer_phone VARCHAR(40) NULL,
    submitted_at DATETIME(3) NOT NULL,
    submitted_by_key_id BIGINT UNSIGNED NULL,
    PRIMARY KEY (id),
    KEY ix_rfis_submitted_at (submitted_at)
  ) ENGINE=InnoDB`,
  `CREATE TABLE idempotency_records (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    api_key_id BIGINT UNSIGNED NOT NULL,
    idempotency_key VARCHAR(200) NOT NULL,
    request_hash CHAR(64) NOT NULL,
    rfi_id BIGINT UNSIGNED NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_idempotency_records_key (api_key_id, idempotency_key)
  ) ENGINE=InnoDB`,
  `CREATE TABLE referrals (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    rfi_id BIGINT UNSIGNED NOT NULL,
    partner_id BIGINT UNSIGNED NOT NULL,
    profile_id BIGINT UNSIGNED NOT NULL,
    region CHAR(2) NOT NULL,
    status VARCHAR(16) NOT NULL,
    version INT UNSIGNED NOT NULL,
    received_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    respond_by DATETIME(3) NULL,
    interested_at DATETIME(3) NULL,
    answered_at DATETIME(3) NULL,
    estimated_deal_value DECIMAL(15,2) NULL,
    estimated_currency CHAR(3) NULL,
    estimated_close_date DATE NULL,
    accepted_close_date DATE NULL,
    final_deal_value DECIMAL(15,2) NULL,
    final_currency CHAR(3) NULL,
    final_close_date DATE NULL,
    closed_at DATETIME(3) NULL,
    reason VARCHAR(1000) NULL,
    external_reference_id VARCHAR(200) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_referrals_rfi_partner (rfi_id, partner_id),
    KEY ix_referrals_partner_received (partner_id, received_at, id),
    KEY ix_referrals_partner_updated (partner_id, updated_at, id),
    KEY ix_referrals_partner_status (partner_id, status, received_at),
    KEY ix_referrals_received (received_at, id),
    KEY ix_referrals_updated (updated_at, id),
    KEY ix_referrals_status_respond_by (status, respond_by),
    KEY ix_referrals_profile (profile_id),
    CONSTRAINT fk_referrals_rfi FOREIGN KEY (rfi_id) REFERENCES rfis (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_referrals_partner FOREIGN KEY (partner_id) REFERENCES partners (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_referrals_profile FOREIGN KEY (profile_id) REFERENCES marketing_profiles (id) ON DELETE RESTRICT ON UPDATE RESTRICT
  ) ENGINE=InnoDB`,
  `CREATE TABLE referral_events (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    referral_id BIGINT UNSIGNED NOT NULL,
    action VARCHAR(32) NOT NULL,
    at DATETIME(3) NOT NULL,
    from_status VARCHAR(16) NULL,
    to_status VARCHAR(16) NOT NULL,
    actor VARCHAR(200) NOT NULL,
    note TEXT NULL,
    PRIMARY KEY (id),
    KEY ix_referral_events_referral (referral_id, id),
    CONSTRAINT fk_referral_events_referral FOREIGN KEY (referral_id) REFERENCES referrals (id) ON DELETE RESTRICT ON UPDATE RESTRICT
  ) ENGINE=InnoDB`,
];

/** Partners, profiles, RFIs, referrals and their audit trail, API keys and idempotency records. */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = "InitialSchema1764000000000";

  async up(q: QueryRunner): Promise<void> {
    for (const statement of TABLES) await q.query(statement);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["referral_events", "referrals", "idempotency_records", "rfis", "api_keys", "marketing_profiles", "partners"]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
