import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";
import { Partner } from "../partners/partner.entity.js";
import { Role } from "./role.js";

/** An API key. Only the SHA-256 of its secret is kept: the secret is random, so a slow hash adds nothing. */
@Entity("api_keys")
@Index("uq_api_keys_secret_hash", ["secretHash"], { unique: true })
@Index("ix_api_keys_partner", ["partnerId"])
export class ApiKey {
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Column({ type: "varchar", length: 200 })
  label: string;

  @Column({ type: "varchar", length: 16 })
  role: Role;

  @Column({ name: "partner_id", type: "bigint", unsigned: true, nullable: true })
  @ForeignKey(() => Partner, { name: "fk_api_keys_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string | null;

  @Column({ name: "secret_hash", type: "char", length: 64 })
  secretHash: string;

  /** The key configured by ADMIN_API_KEY: replaced when that variable changes, revoked when it is unset. */
  @Column({ name: "from_environment", type: "boolean", default: false })
  fromEnvironment: boolean;

  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;

  @Column({ name: "revoked_at", type: "datetime", precision: 3, nullable: true })
  revokedAt: Date | null;
}
