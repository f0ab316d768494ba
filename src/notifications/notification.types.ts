import { Field, ID, Int, ObjectType } from "type-graphql";
import { DateTimeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { DeliveryStatus } from "../outbox/index.js";
import { PageInfo } from "../graphql/paging.js";
import { Referral } from "../referrals/index.js";
import { NotificationKind } from "./notification-kind.js";

/** An e-mail of the outbox, as operators see it. */
@ObjectType({ simpleResolvers: true })
export class Notification {
  @Field(() => ID)
  id: string;

  @Field(() => NotificationKind)
  kind: NotificationKind;

  @Field(() => EmailAddressScalar)
  to: string;

  @Field(() => Referral)
  referral: Referral;

  referralId: string;

  @Field(() => DeliveryStatus)
  status: DeliveryStatus;

  @Field(() => Int)
  attempts: number;

  @Field(() => DateTimeScalar)
  createdAt: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  sentAt: Date | null;

  @Field(() => String, { nullable: true, description: "The last failure, for operators; never shown to partners." })
  lastError: string | null;
}

@ObjectType({ simpleResolvers: true })
export class NotificationEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => Notification)
  node: Notification;
}

@ObjectType({ simpleResolvers: true })
export class NotificationConnection {
  @Field(() => [NotificationEdge])
  edges: NotificationEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}
