import { Field, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../graphql/scalars.js";
import { ReferralAction, ReferralStatus } from "../referrals/lifecycle.js";
import { PageInfo } from "../graphql/paging.js";
import { Referral } from "../referrals/index.js";
import type { Position } from "./position.js";

@ObjectType({ simpleResolvers: true, description: "One committed change of a referral, in the order changes were committed." })
export class ReferralChange {
  @Field(() => String, { description: "Opaque and increasing in commit order. Pass it back as `after` to continue from here." })
  cursor: string;

  @Field(() => DateTimeScalar)
  at: Date;

  @Field(() => ReferralAction)
  action: ReferralAction;

  @Field(() => ReferralStatus, { nullable: true })
  from: ReferralStatus | null;

  @Field(() => ReferralStatus)
  to: ReferralStatus;

  @Field(() => Int, { description: "The referral's version right after this change." })
  version: number;

  /** The referral as it was read with the change (now, as the contract says). */
  @Field(() => Referral, { description: "The referral as it is now, resolved with the caller's access rules." })
  referral: Referral;

  position: Position;
  referralId: string;
  partnerId: string;
}

@ObjectType({ simpleResolvers: true })
export class ReferralChangeEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => ReferralChange)
  node: ReferralChange;
}

@ObjectType({ simpleResolvers: true })
export class ReferralChangeConnection {
  @Field(() => [ReferralChangeEdge])
  edges: ReferralChangeEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}
