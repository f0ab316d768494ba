import { Field, ID, Int, ObjectType } from "type-graphql";
import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";
import { CountryCodeScalar, DateTimeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { Locale } from "../notifications/locale.js";
import { CompanySize } from "../rfis/company-size.js";
import { Partner } from "./partner.entity.js";

@ObjectType({
  simpleResolvers: true,
  description: "A partner's marketing profile for one region and location: where referrals are routed and alerts are sent.",
})
@Entity("marketing_profiles")
@Index("uq_marketing_profiles_partner_region_location", ["partnerId", "region", "location"], { unique: true })
@Index("ix_marketing_profiles_region_active", ["region", "active"])
export class MarketingProfile {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ name: "partner_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Partner, { name: "fk_marketing_profiles_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string;

  @Field(() => CountryCodeScalar)
  @Column({ type: "char", length: 2 })
  region: string;

  @Field(() => String, { description: "The office this profile stands for, in words." })
  @Column({ type: "varchar", length: 200 })
  location: string;

  @Field(() => EmailAddressScalar, { description: "Receives an alert for every new referral." })
  @Column({ name: "contact_email", type: "varchar", length: 254 })
  contactEmail: string;

  @Field(() => Locale, { description: "The language of the e-mails to this profile's contact." })
  @Column({ type: "char", length: 2, default: Locale.EN })
  locale: Locale;

  @Field(() => [String])
  @Column({ type: "simple-json" })
  keywords: string[];

  @Field(() => [CompanySize], { description: "The company sizes this profile wants; empty means any." })
  @Column({ name: "preferred_company_sizes", type: "simple-json" })
  preferredCompanySizes: CompanySize[];

  @Field(() => Boolean, { description: "Only active profiles receive referrals." })
  @Column({ type: "boolean" })
  active: boolean;

  @Field(() => Int, {
    nullable: true,
    description: "Automatic routing skips the profile while it holds this many open (NEW or EVALUATING) referrals; null: no limit.",
  })
  @Column({ name: "max_open_referrals", type: "int", nullable: true })
  maxOpenReferrals: number | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Automatic routing skips the profile until this instant (holidays); null: not paused.",
  })
  @Column({ name: "paused_until", type: "datetime", precision: 3, nullable: true })
  pausedUntil: Date | null;

  @Field(() => Int, { description: "The profile's referrals that are NEW or EVALUATING now." })
  @Column({ name: "open_referrals", type: "int", default: 0 })
  openReferrals: number;

  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;

  @Column({ name: "updated_at", type: "datetime", precision: 3 })
  updatedAt: Date;
}
