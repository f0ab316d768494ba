import { registerEnumType } from "type-graphql";
import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";

export enum DeliveryStatus {
  PENDING = "PENDING",
  SUCCEEDED = "SUCCEEDED",
  FAILED = "FAILED",
}

registerEnumType(DeliveryStatus, {
  name: "DeliveryStatus",
  valuesConfig: {
    PENDING: { description: "Waiting for its first or next attempt." },
    FAILED: { description: "Every attempt failed; no more will be made unless sent again." },
  },
});

/**
 * A message for the outside world (an e-mail, a webhook call), written in the transaction of the
 * change it reports and delivered after commit by the relay (outbox-relay.ts), at least once.
 * `dedupeKey` makes writing it idempotent; `leaseToken` names the relay run that holds it, until
 * `nextAttemptAt`. Its foreign keys name the entities they point to rather than import them: the
 * outbox stands under the features whose messages it carries.
 */
@Entity("outbox_messages")
@Index("uq_outbox_messages_dedupe", ["dedupeKey"], { unique: true })
@Index("ix_outbox_messages_due", ["status", "nextAttemptAt"])
@Index("ix_outbox_messages_channel_status", ["channel", "status", "id"])
@Index("ix_outbox_messages_channel_due", ["channel", "status", "nextAttemptAt", "id"])
@Index("ix_outbox_messages_referral", ["referralId", "id"])
@Index("ix_outbox_messages_endpoint", ["endpointId", "id"])
@Index("ix_outbox_messages_endpoint_referral", ["endpointId", "referralId", "status", "id"])
export class OutboxMessage {
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  /** Who delivers it: `email` (src/notifications) or `webhook` (src/webhooks). */
  @Column({ type: "varchar", length: 16 })
  channel: string;

  /** What it says, in the channel's terms (for e-mails, a NotificationKind). */
  @Column({ type: "varchar", length: 40 })
  kind: string;

  @Column({ name: "dedupe_key", type: "varchar", length: 120 })
  dedupeKey: string;

  /** The referral it is about; null for news of an endpoint (a webhook endpoint disabled). */
  @Column({ name: "referral_id", type: "bigint", unsigned: true, nullable: true })
  @ForeignKey("Referral", { name: "fk_outbox_messages_referral", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  referralId: string | null;

  /** A webhook's endpoint; an e-mail about an endpoint names it too. */
  @Column({ name: "endpoint_id", type: "bigint", unsigned: true, nullable: true })
  @ForeignKey("WebhookEndpoint", { name: "fk_outbox_messages_endpoint", onDelete: "CASCADE", onUpdate: "RESTRICT" })
  endpointId: string | null;

  /** A webhook's change (a referral event), for its body and cursor. */
  @Column({ name: "event_id", type: "bigint", unsigned: true, nullable: true })
  eventId: string | null;

  /** An e-mail address, or a webhook endpoint's id. */
  @Column({ type: "varchar", length: 254 })
  recipient: string;

  @Column({ type: "char", length: 2 })
  locale: string;

  @Column({ type: "varchar", length: 10 })
  status: DeliveryStatus;

  @Column({ type: "int", unsigned: true, default: 0 })
  attempts: number;

  /** When it is due: its next attempt, or the end of the lease of the relay run holding it. */
  @Column({ name: "next_attempt_at", type: "datetime", precision: 3 })
  nextAttemptAt: Date;

  @Column({ name: "lease_token", type: "char", length: 36, nullable: true })
  leaseToken: string | null;

  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;

  @Column({ name: "sent_at", type: "datetime", precision: 3, nullable: true })
  sentAt: Date | null;

  @Column({ name: "last_attempt_at", type: "datetime", precision: 3, nullable: true })
  lastAttemptAt: Date | null;

  /** A webhook's HTTP status at its last attempt; null when it got no answer. */
  @Column({ name: "last_response_status", type: "smallint", unsigned: true, nullable: true })
  lastResponseStatus: number | null;

  /** The last failure, for operators. */
  @Column({ name: "last_error", type: "varchar", length: 1000, nullable: true })
  lastError: string | null;
}
