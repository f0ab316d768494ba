import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * One per (key, idempotency key): its unique index makes concurrent retries wait for the first
 * submission's transaction, then find its result.
 */
@Entity("idempotency_records")
@Index("uq_idempotency_records_key", ["apiKeyId", "idempotencyKey"], { unique: true })
export class IdempotencyRecord {
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ name: "api_key_id", type: "bigint", unsigned: true })
  apiKeyId: string;

  @Column({ name: "idempotency_key", type: "varchar", length: 200 })
  idempotencyKey: string;

  /** SHA-256 of the normalised input, to refuse the same key with different input. */
  @Column({ name: "request_hash", type: "char", length: 64 })
  requestHash: string;

  @Column({ name: "rfi_id", type: "bigint", unsigned: true, nullable: true })
  rfiId: string | null;

  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;
}
