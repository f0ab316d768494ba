import { Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";
import { DateTimeScalar } from "../graphql/scalars.js";
import { Partner } from "../partners/index.js";
import type { WebhookEventType } from "./webhook-event-type.js";

/** Where a partner's referral changes are posted, signed with the endpoint's own secret. */
@ObjectType({ simpleResolvers: true, description: "Where a partner's referral changes are posted (Standard Webhooks)." })
@Entity("webhook_endpoints")
@Index("ix_webhook_endpoints_partner", ["partnerId", "enabled"])
export class WebhookEndpoint {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ name: "partner_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Partner, { name: "fk_webhook_endpoints_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string;

  @Field(() => String)
  @Column({ type: "varchar", length: 2048 })
  url: string;

  /** The event types, comma-separated (the `events` field lists them). */
  @Column({ name: "events", type: "varchar", length: 100 })
  eventList: string;

  /** The Standard Webhooks signing secret (`whsec_…`): kept to sign, shown once, never logged. */
  @Column({ type: "varchar", length: 100 })
  secret: string;

  @Field(() => Boolean, { description: "False once disabled after failing for too long, or by its owner." })
  @Column({ type: "boolean" })
  enabled: boolean;

  @Field(() => String, { nullable: true })
  @Column({ name: "disabled_reason", type: "varchar", length: 500, nullable: true })
  disabledReason: string | null;

  /** Since when every attempt has failed; null after a success. */
  @Column({ name: "failing_since", type: "datetime", precision: 3, nullable: true })
  failingSince: Date | null;

  @Field(() => DateTimeScalar)
  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;
}

export function eventTypesOf(endpoint: WebhookEndpoint): WebhookEventType[] {
  return endpoint.eventList.split(",") as WebhookEventType[];
}
