import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { CountryCodeScalar, CurrencyScalar, DateTimeScalar, DecimalScalar, LocalDateScalar } from "../graphql/scalars.js";
import { PageInfo } from "../graphql/paging.js";
import { ReferralStage, ReferralStatus } from "./lifecycle.js";
import type { Partner } from "../partners/index.js";
import type { Rfi } from "../rfis/rfi.entity.js";
import { Referral, type ReferralEvent } from "./referral.entity.js";

export enum OrderDirection {
  ASC = "ASC",
  DESC = "DESC",
}
registerEnumType(OrderDirection, { name: "OrderDirection" });

export enum ReferralOrderField {
  RECEIVED_AT = "RECEIVED_AT",
  UPDATED_AT = "UPDATED_AT",
  RESPOND_BY = "RESPOND_BY",
  ESTIMATED_DEAL_VALUE = "ESTIMATED_DEAL_VALUE",
  ESTIMATED_CLOSE_DATE = "ESTIMATED_CLOSE_DATE",
  FIT_SCORE = "FIT_SCORE",
}
registerEnumType(ReferralOrderField, {
  name: "ReferralOrderField",
  description: "Ties are broken by id in the same direction; empty values sort last either way.",
});

@InputType()
export class ReferralFilter {
  @Field(() => [ReferralStatus], { nullable: true })
  statuses?: ReferralStatus[] | null;

  @Field(() => ReferralStage, { nullable: true })
  stage?: ReferralStage | null;

  @Field(() => CountryCodeScalar, { nullable: true })
  region?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "Only referrals received at or after this instant." })
  receivedAfter?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "Only referrals received before this instant." })
  receivedBefore?: Date | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "For incremental sync: only referrals changed at or after this instant (pair with orderBy UPDATED_AT).",
  })
  updatedAfter?: Date | null;

  @Field(() => ID, { nullable: true, description: "ADMIN and ANALYST only; a PARTNER key is always limited to its own partner." })
  partnerId?: string | null;
}

@InputType()
export class ReferralOrder {
  @Field(() => ReferralOrderField)
  field: ReferralOrderField;

  @Field(() => OrderDirection)
  direction: OrderDirection;
}

@InputType()
export class AcceptReferralInput {
  @Field(() => DecimalScalar)
  estimatedDealValue: string;

  @Field(() => CurrencyScalar)
  currency: string;

  @Field(() => LocalDateScalar, { description: "Today or later." })
  estimatedCloseDate: string;
}

@InputType({ description: "What the partner finally reports when it wins; each field defaults to the accepted estimate." })
export class WonReferralInput {
  @Field(() => DecimalScalar, { nullable: true })
  dealValue?: string | null;

  @Field(() => CurrencyScalar, { nullable: true, description: "Needs dealValue: a currency alone would relabel the estimate." })
  currency?: string | null;

  @Field(() => LocalDateScalar, { nullable: true })
  closeDate?: string | null;
}

@ObjectType({ simpleResolvers: true })
export class ReferralEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => Referral)
  node: Referral;
}

@ObjectType({ simpleResolvers: true })
export class ReferralConnection {
  @Field(() => [ReferralEdge])
  edges: ReferralEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  /** Counted only when asked for. */
  countAll: () => Promise<number>;

  /** The page's RFIs and partners (and events, when asked for), read with it: the request's loaders start with them. */
  related: { rfis: Rfi[]; partners: Partner[]; events: Map<string, ReferralEvent[]> };
}
