import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { CountryCodeScalar, CurrencyScalar, DateTimeScalar, DecimalScalar, LocalDateScalar } from "../graphql/scalars.js";
import { ReferralStatus } from "../referrals/lifecycle.js";

export enum StatsDimension {
  MONTH = "MONTH",
  QUARTER = "QUARTER",
  CLOSE_MONTH = "CLOSE_MONTH",
  REGION = "REGION",
  PARTNER = "PARTNER",
  STATUS = "STATUS",
  COMPANY_SIZE = "COMPANY_SIZE",
  INDUSTRY = "INDUSTRY",
  /** The coded reason a referral was ignored, declined or lost (empty without one). */
  REASON_CODE = "REASON_CODE",
}
registerEnumType(StatsDimension, {
  name: "StatsDimension",
  description:
    "A way to cut statistics. MONTH and QUARTER are of arrival; CLOSE_MONTH is of the (estimated, or final when won) close date.",
});

@InputType()
export class StatsFilter {
  @Field(() => DateTimeScalar, { nullable: true })
  receivedAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  receivedBefore?: Date | null;

  @Field(() => [CountryCodeScalar], { nullable: true })
  regions?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "ADMIN and ANALYST only; a PARTNER key always sees its own partner alone." })
  partnerIds?: string[] | null;

  @Field(() => [ReferralStatus], { nullable: true })
  statuses?: ReferralStatus[] | null;
}

@ObjectType({ simpleResolvers: true })
export class StatsKey {
  @Field(() => StatsDimension)
  dimension: StatsDimension;

  @Field(() => String)
  value: string;
}

@ObjectType({
  simpleResolvers: true,
  description:
    "Deal sizes of the referrals that have one (accepted at some point). The value of a WON\nreferral is its final value, of any other its latest estimate. Quantiles use the nearest-rank\nmethod: the value at rank ceil(p * count) in ascending order.",
})
export class DealSizeStats {
  @Field(() => [StatsKey])
  key: StatsKey[];

  @Field(() => CurrencyScalar)
  currency: string;

  @Field(() => Int)
  count: number;

  @Field(() => DecimalScalar)
  total: string;

  @Field(() => DecimalScalar)
  average: string;

  @Field(() => DecimalScalar)
  min: string;

  @Field(() => DecimalScalar)
  median: string;

  @Field(() => DecimalScalar)
  p90: string;

  @Field(() => DecimalScalar)
  max: string;
}

@ObjectType({
  simpleResolvers: true,
  description: "Close dates of the referrals that have one: the final date when WON, else the latest estimate.",
})
export class CloseDateStats {
  @Field(() => [StatsKey])
  key: StatsKey[];

  @Field(() => Int)
  count: number;

  @Field(() => LocalDateScalar)
  earliest: string;

  @Field(() => LocalDateScalar)
  latest: string;

  @Field(() => Float, { description: "Mean days from arrival to the close date." })
  averageDaysToClose: number;

  @Field(() => Float, { description: "Median (nearest-rank) days from arrival to the close date." })
  medianDaysToClose: number;

  @Field(() => Float, {
    nullable: true,
    description:
      "WON referrals only: mean of final close date minus the estimate given at acceptance, in days (positive = later than estimated); null when none won.",
  })
  averageSlipDays: number | null;
}

@ObjectType({ simpleResolvers: true, description: "How quickly a partner answers new referrals (answer = interested or no thanks)." })
export class Responsiveness {
  @Field(() => Int, { description: "Referrals received that are no longer NEW." })
  decided: number;

  @Field(() => Float, { nullable: true, description: "Median hours from arrival to the first answer; null before any answer." })
  medianHoursToAnswer: number | null;

  @Field(() => Float, { nullable: true, description: "Share (0..1) of decided referrals answered within 24 hours." })
  answeredWithin24hShare: number | null;

  @Field(() => Float, { nullable: true, description: "Share (0..1) of decided referrals that were MISSED." })
  missedShare: number | null;
}
