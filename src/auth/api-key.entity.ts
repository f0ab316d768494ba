import { Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from "typeorm";
import { DateTimeScalar } from "../graphql/scalars.js";
import { Partner } from "../partners/index.js";
import { Role } from "../graphql/role.js";

/** Who revoked a key: an admin (revokeApiKey), for good; or ADMIN_API_KEY changing or unset, until it names the key again. */
export enum KeyRevoker {
  ADMIN = "ADMIN",
  ENVIRONMENT = "ENVIRONMENT",
}

/**
 * An API key. Only the SHA-256 of its secret is kept: the secret is random, so a slow hash adds nothing.
 * As a GraphQL type it shows what an operator reviews, never the hash.
 */
@ObjectType("ApiKey", { simpleResolvers: true, description: "An API key as an operator reviews it; its secret is never shown again." })
@Entity("api_keys")
@Index("uq_api_keys_secret_hash", ["secretHash"], { unique: true })
@Index("ix_api_keys_partner", ["partnerId"])
@Index("ix_api_keys_listing", ["revokedAt", "createdAt"])
export class ApiKey {
  @Field(() => ID)
  @PrimaryGeneratedColumn({ type: "bigint", unsigned: true })
  id: string;

  @Field(() => String)
  @Column({ type: "varchar", length: 200 })
  label: string;

  @Field(() => Role)
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

  @Field(() => DateTimeScalar)
  @Column({ name: "created_at", type: "datetime", precision: 3 })
  createdAt: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "Updated at most once a minute; null before first use." })
  @Column({ name: "last_used_at", type: "datetime", precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "After this instant the key is refused; null: no expiry." })
  @Column({ name: "expires_at", type: "datetime", precision: 3, nullable: true })
  expiresAt: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  @Column({ name: "revoked_at", type: "datetime", precision: 3, nullable: true })
  revokedAt: Date | null;

  /** Set with `revokedAt`. Null on a revoked key means revoked before this was recorded: as by an admin. */
  @Column({ name: "revoked_by", type: "varchar", length: 16, nullable: true })
  revokedBy: KeyRevoker | null;
}
