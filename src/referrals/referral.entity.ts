import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";
import { DateTimeScalar, LocalDateScalar } from "../graphql/scalars.js";
import { MarketingProfile } from "../partners/index.js";
import { Partner } from "../partners/index.js";
import { CompanySize } from "../rfis/company-size.js";
import { Rfi } from "../rfis/rfi.entity.js";
import { ReferralAction, ReferralStage, ReferralStatus } from "./lifecycle.js";
import { ReasonCode } from "./reason-code.js";

registerEnumType(ReferralStatus, {
  name: "ReferralStatus",
  description: "Every state a referral can be in. The last six are archived states.",
});
registerEnumType(ReferralStage, {
  name: "ReferralStage",
  description: "The dashboard tabs: NEW, EVALUATING, NEGOTIATING, and ARCHIVED (won, lost, ignored, missed, declined, expired).",
});
registerEnumType(ReferralAction, {
  name: "ReferralAction",
  description: "What happened to a referral: its arrival, a partner's action, or a deadline (MISS, EXPIRE).",
});

/** One partner's copy of an RFI, with its own life. Deal values are DECIMAL(15,2), never floats. */
@ObjectType({ simpleResolvers: true, description: "One partner's copy of an RFI, with its own lifecycle." })
@Entity("referrals")
@Index("uq_referrals_rfi_partner", ["rfiId", "partnerId"], { unique: true })
@Index("ix_referrals_partner_received", ["partnerId", "receivedAt", "id"])
@Index("ix_referrals_partner_updated", ["partnerId", "updatedAt", "id"])
@Index("ix_referrals_partner_status", ["partnerId", "status", "receivedAt"])
@Index("ix_referrals_received", ["receivedAt", "id"])
@Index("ix_referrals_updated", ["updatedAt", "id"])
@Index("ix_referrals_status_respond_by", ["status", "respondBy"])
@Index("ix_referrals_profile", ["profileId"])
@Index("ix_referrals_deal", ["dealCurrency", "dealValue", "receivedAt", "region", "partnerId", "status"])
@Index("ix_referrals_partner_fit", ["partnerId", "fitScore", "id"])
@Index("ix_referrals_fit", ["fitScore", "id"])
@Index("ix_referrals_partner_answered", ["partnerId", "answeredAt"])
export class Referral {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ name: "rfi_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Rfi, { name: "fk_referrals_rfi", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  rfiId: string;

  @Column({ name: "partner_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Partner, { name: "fk_referrals_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string;

  @Column({ name: "profile_id", type: "bigint", unsigned: true })
  @ForeignKey(() => MarketingProfile, { name: "fk_referrals_profile", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  profileId: string;

  /** The RFI's region, copied so that lists filter on an index of this table. */
  @Column({ type: "char", length: 2 })
  region: string;

  /** The RFI's company size and industry, copied like its region: statistics and fit scores group by them. */
  @Column({ name: "company_size", type: "varchar", length: 24 })
  companySize: CompanySize;

  @Column({ type: "varchar", length: 100, nullable: true })
  industry: string | null;

  @Field(() => ReferralStatus)
  @Column({ type: "varchar", length: 16 })
  status: ReferralStatus;

  @Field(() => Int, { description: "Increases with every change; pass it back as expectedVersion to refuse a stale write." })
  @Column({ type: "int", unsigned: true })
  version: number;

  @Field(() => DateTimeScalar)
  @Column({ name: "received_at", type: "datetime", precision: 3 })
  receivedAt: Date;

  @Field(() => DateTimeScalar)
  @Column({ name: "updated_at", type: "datetime", precision: 3 })
  updatedAt: Date;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      "When the current stage lapses (72 hours after arrival for NEW, 7 days after interest for EVALUATING); null once no deadline applies.",
  })
  @Column({ name: "respond_by", type: "datetime", precision: 3, nullable: true })
  respondBy: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the partner said it was interested." })
  @Column({ name: "interested_at", type: "datetime", precision: 3, nullable: true })
  interestedAt: Date | null;

  /** The first answer to the arrival (interest or no thanks), for responsiveness. */
  @Column({ name: "answered_at", type: "datetime", precision: 3, nullable: true })
  answeredAt: Date | null;

  @Column({ name: "estimated_deal_value", type: "decimal", precision: 15, scale: 2, nullable: true })
  estimatedDealValue: string | null;

  @Column({ name: "estimated_currency", type: "char", length: 3, nullable: true })
  estimatedCurrency: string | null;

  @Field(() => LocalDateScalar, { nullable: true })
  @Column({ name: "estimated_close_date", type: "date", nullable: true })
  estimatedCloseDate: string | null;

  /** The close date estimated at acceptance, kept to measure how far the final date slipped. */
  @Column({ name: "accepted_close_date", type: "date", nullable: true })
  acceptedCloseDate: string | null;

  @Column({ name: "final_deal_value", type: "decimal", precision: 15, scale: 2, nullable: true })
  finalDealValue: string | null;

  @Column({ name: "final_currency", type: "char", length: 3, nullable: true })
  finalCurrency: string | null;

  @Field(() => LocalDateScalar, { nullable: true, description: "The close date reported when WON." })
  @Column({ name: "final_close_date", type: "date", nullable: true })
  finalCloseDate: string | null;

  /** The deal as statistics count it: the final figures when WON, else the latest estimate. */
  @Column({ name: "deal_value", type: "decimal", precision: 15, scale: 2, nullable: true })
  dealValue: string | null;

  @Column({ name: "deal_currency", type: "char", length: 3, nullable: true })
  dealCurrency: string | null;

  @Column({ name: "deal_close_date", type: "date", nullable: true })
  dealCloseDate: string | null;

  /** How well the referral fits its partner's history, 0..1 (see src/analytics/fit.ts); kept for sorting. */
  @Column({ name: "fit_score", type: "decimal", precision: 5, scale: 4, nullable: true })
  fitScore: string | null;

  @Column({ name: "fit_reasons", type: "simple-json", nullable: true })
  fitReasons: string[] | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the referral was archived." })
  @Column({ name: "closed_at", type: "datetime", precision: 3, nullable: true })
  closedAt: Date | null;

  @Field(() => String, { nullable: true, description: "Why it was ignored, declined or lost, when given." })
  @Column({ type: "varchar", length: 1000, nullable: true })
  reason: string | null;

  @Field(() => ReasonCode, { nullable: true, description: "The coded reason it was ignored, declined or lost, when given." })
  @Column({ name: "reason_code", type: "varchar", length: 32, nullable: true })
  reasonCode: ReasonCode | null;

  @Field(() => String, { nullable: true, description: "The partner's own id for this referral in its CRM." })
  @Column({ name: "external_reference_id", type: "varchar", length: 200, nullable: true })
  externalReferenceId: string | null;
}

@ObjectType({ simpleResolvers: true, description: "One entry of a referral's audit trail." })
@Entity("referral_events")
@Index("ix_referral_events_referral", ["referralId", "id"])
@Index("ix_referral_events_feed", ["feedBatch", "id"])
@Index("ix_referral_events_partner_feed", ["partnerId", "feedBatch", "id"])
export class ReferralEvent {
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ name: "referral_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Referral, { name: "fk_referral_events_referral", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  referralId: string;

  /** The referral's partner, copied so that a partner's change feed reads an index of this table. */
  @Column({ name: "partner_id", type: "bigint", unsigned: true })
  partnerId: string;

  @Field(() => ReferralAction)
  @Column({ type: "varchar", length: 32 })
  action: ReferralAction;

  @Field(() => DateTimeScalar)
  @Column({ type: "datetime", precision: 3 })
  at: Date;

  @Field(() => ReferralStatus, { nullable: true })
  @Column({ name: "from_status", type: "varchar", length: 16, nullable: true })
  from: ReferralStatus | null;

  @Field(() => ReferralStatus)
  @Column({ name: "to_status", type: "varchar", length: 16 })
  to: ReferralStatus;

  /** The referral's version right after this change. */
  @Column({ type: "int", unsigned: true })
  version: number;

  @Field(() => String, { description: "Who caused it: a user or key label, or 'system' for deadline expiry." })
  @Column({ type: "varchar", length: 200 })
  actor: string;

  @Field(() => String, { nullable: true })
  @Column({ type: "text", nullable: true })
  note: string | null;

  /**
   * The batch that gave the change its place in commit order (src/change-feed/sequencer.ts); null
   * until the sequencer has seen it committed.
   */
  @Column({ name: "feed_batch", type: "bigint", unsigned: true, nullable: true })
  feedBatch: string | null;
}
