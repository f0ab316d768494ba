import { ArrayMaxSize, IsOptional, Matches, Max, MaxLength, Min, ValidateNested } from "class-validator";
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { CountryCodeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { listCost } from "../graphql/limits.js";
import { NotBlank } from "../graphql/validation.js";
import { MAX_KEYWORD_LENGTH, MAX_KEYWORDS, MAX_NAME_LENGTH } from "../partners/index.js";
import { Referral } from "../referrals/referral.entity.js";
import { Locale } from "../notifications/locale.js";
import { CompanySize } from "./company-size.js";
import { Rfi } from "./rfi.entity.js";

export const MAX_NEED_LENGTH = 5000;
export const MAX_PARTNERS = 10;
export const DEFAULT_MAX_PARTNERS = 3;

@InputType()
export class CustomerInput {
  @Field(() => String)
  @NotBlank()
  @MaxLength(MAX_NAME_LENGTH)
  companyName: string;

  @Field(() => String)
  @NotBlank()
  @MaxLength(MAX_NAME_LENGTH)
  contactName: string;

  @Field(() => EmailAddressScalar)
  email: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(40)
  @Matches(/^\+?[0-9 ().-]{3,40}$/, { message: "phone must be digits, spaces and + ( ) . - only, at most 40" })
  phone?: string | null;
}

@InputType()
export class SubmitRfiInput {
  @Field(() => String, {
    nullable: true,
    description: "A retry with the same key returns the first submission instead of creating another.",
  })
  @IsOptional()
  @NotBlank()
  @MaxLength(MAX_NAME_LENGTH)
  idempotencyKey?: string | null;

  @Field(() => CustomerInput)
  @ValidateNested()
  customer: CustomerInput;

  @Field(() => String)
  @NotBlank()
  @MaxLength(MAX_NEED_LENGTH)
  need: string;

  @Field(() => CompanySize)
  companySize: CompanySize;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @NotBlank()
  @MaxLength(100)
  industry?: string | null;

  @Field(() => CountryCodeScalar)
  region: string;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(MAX_KEYWORDS)
  @NotBlank(true)
  @MaxLength(MAX_KEYWORD_LENGTH, { each: true })
  keywords?: string[] | null;

  @Field(() => [ID], {
    nullable: true,
    description: "The partners the customer chose. When absent, the server routes the RFI to the best-matching active profiles.",
  })
  @IsOptional()
  @ArrayMaxSize(MAX_PARTNERS)
  partnerIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: "Upper bound on partners for automatic routing (default 3, at most 10)." })
  @IsOptional()
  @Min(1)
  @Max(MAX_PARTNERS)
  maxPartners?: number | null;

  @Field(() => Locale, { nullable: true, description: "The customer's language, for the e-mails the customer receives. Default EN." })
  @IsOptional()
  locale?: Locale | null;
}

@ObjectType({ simpleResolvers: true })
export class SubmitRfiPayload {
  @Field(() => Rfi)
  rfi: Rfi;

  @Field(() => [Referral], { complexity: listCost(() => MAX_PARTNERS) })
  referrals: Referral[];
}
