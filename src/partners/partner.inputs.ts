import { ArrayMaxSize, IsOptional, Max, MaxLength, Min } from "class-validator";
import { Field, InputType, Int, ObjectType } from "type-graphql";
import { CountryCodeScalar, DateTimeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { NotBlank, SingleLine } from "../graphql/validation.js";
import { Locale } from "../notifications/locale.js";
import { CompanySize } from "../rfis/company-size.js";
import { Partner } from "./partner.entity.js";

export const MAX_NAME_LENGTH = 200;
export const MAX_KEYWORDS = 50;
export const MAX_KEYWORD_LENGTH = 50;
export const MAX_OPEN_REFERRALS_LIMIT = 10_000;

@InputType()
export class CreatePartnerInput {
  @Field(() => String)
  @NotBlank()
  @SingleLine()
  @MaxLength(MAX_NAME_LENGTH)
  name: string;
}

@ObjectType({ simpleResolvers: true })
export class CreatePartnerPayload {
  @Field(() => Partner)
  partner: Partner;

  @Field(() => String, { description: "A new PARTNER key for this partner. Shown once; only its hash is stored." })
  apiKey: string;
}

@InputType()
export class MarketingProfileInput {
  @Field(() => CountryCodeScalar)
  region: string;

  @Field(() => String)
  @NotBlank()
  @SingleLine()
  @MaxLength(MAX_NAME_LENGTH)
  location: string;

  @Field(() => EmailAddressScalar)
  contactEmail: string;

  @Field(() => [String])
  @ArrayMaxSize(MAX_KEYWORDS)
  @NotBlank(true)
  @SingleLine(true)
  @MaxLength(MAX_KEYWORD_LENGTH, { each: true })
  keywords: string[];

  @Field(() => [CompanySize])
  preferredCompanySizes: CompanySize[];

  @Field(() => Boolean, { nullable: true, description: "Defaults to true for a new profile, to unchanged on update." })
  @IsOptional()
  active?: boolean | null;

  @Field(() => Locale, { nullable: true, description: "Default EN for a new profile, unchanged on update." })
  @IsOptional()
  locale?: Locale | null;

  @Field(() => Int, { nullable: true, description: "Omitted: unchanged on update; null: no limit. 1 to 10,000." })
  @IsOptional()
  @Min(1)
  @Max(MAX_OPEN_REFERRALS_LIMIT)
  maxOpenReferrals?: number | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Omitted: unchanged on update; null: not paused. In the future, at most a year ahead.",
  })
  @IsOptional()
  pausedUntil?: Date | null;
}
