import { Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";
import { CountryCodeScalar, DateTimeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { Locale } from "../notifications/locale.js";
import { CompanySize } from "./company-size.js";

/** A customer's request for information. Its customer columns are shown to partners only once interested. */
@ObjectType({ simpleResolvers: true, description: "A customer's request for information, sent to one or more partners." })
@Entity("rfis")
@Index("ix_rfis_submitted_at", ["submittedAt"])
@Index("ix_rfis_customer_email", ["customerEmailNormalised", "submittedAt"])
@Index("ix_rfis_customer_domain", ["customerDomain", "region", "submittedAt"])
export class Rfi {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ type: "text" })
  need: string;

  @Column({ name: "company_size", type: "varchar", length: 24 })
  companySize: CompanySize;

  @Column({ type: "varchar", length: 100, nullable: true })
  industry: string | null;

  @Column({ type: "char", length: 2 })
  region: string;

  @Column({ type: "simple-json" })
  keywords: string[];

  @Column({ name: "customer_company_name", type: "varchar", length: 200 })
  customerCompanyName: string;

  @Column({ name: "customer_contact_name", type: "varchar", length: 200 })
  customerContactName: string;

  @Column({ name: "customer_email", type: "varchar", length: 254 })
  customerEmail: string;

  /** The e-mail as possible duplicates compare it (src/rfis/duplicates.ts). */
  @Column({ name: "customer_email_normalised", type: "varchar", length: 254, default: "" })
  customerEmailNormalised: string;

  /** The e-mail's domain, in lower case (public mailbox providers' too: duplicates never look those up). */
  @Column({ name: "customer_domain", type: "varchar", length: 254, nullable: true })
  customerDomain: string | null;

  @Column({ name: "customer_phone", type: "varchar", length: 40, nullable: true })
  customerPhone: string | null;

  /** The customer's language, for the e-mails the customer receives. */
  @Column({ type: "char", length: 2, default: Locale.EN })
  locale: Locale;

  @Column({ name: "submitted_at", type: "datetime", precision: 3 })
  submittedAt: Date;

  @Column({ name: "submitted_by_key_id", type: "bigint", unsigned: true, nullable: true })
  submittedByKeyId: string | null;
}

@ObjectType({ simpleResolvers: true, description: "What every targeted partner sees from the moment the referral arrives." })
export class RfiOverview {
  @Field(() => String)
  need: string;

  @Field(() => CompanySize)
  companySize: CompanySize;

  @Field(() => String, { nullable: true })
  industry: string | null;

  @Field(() => CountryCodeScalar)
  region: string;

  @Field(() => [String])
  keywords: string[];

  @Field(() => DateTimeScalar)
  submittedAt: Date;
}

@ObjectType({ simpleResolvers: true, description: "Who the customer is. Visible to the partner only once it has said it is interested." })
export class CustomerDetails {
  @Field(() => String)
  companyName: string;

  @Field(() => String)
  contactName: string;

  @Field(() => EmailAddressScalar)
  email: string;

  @Field(() => String, { nullable: true })
  phone: string | null;
}

export function overviewOf(rfi: Rfi): RfiOverview {
  const { need, companySize, industry, region, keywords, submittedAt } = rfi;
  return { need, companySize, industry, region, keywords, submittedAt };
}

export function customerOf(rfi: Rfi): CustomerDetails {
  return {
    companyName: rfi.customerCompanyName,
    contactName: rfi.customerContactName,
    email: rfi.customerEmail,
    phone: rfi.customerPhone,
  };
}
