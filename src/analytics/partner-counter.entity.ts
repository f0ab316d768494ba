import { Column, Entity, ForeignKey, PrimaryColumn } from "typeorm";
import { Partner } from "../partners/index.js";

/**
 * One counter of a partner's history, kept as the partner's referrals change (see
 * history-counters.ts): `total` referrals of a kind (and value), `hits` among them (accepted, won, or
 * answered within 24 hours, by kind). Fit scores and routing read these instead of the history.
 */
@Entity("partner_counters")
export class PartnerCounter {
  @PrimaryColumn({ name: "partner_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Partner, { name: "fk_partner_counters_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string;

  @PrimaryColumn({ type: "varchar", length: 16 })
  kind: string;

  /** Compared byte for byte: the model folds case itself, and must not merge "Santé" with "Sante". */
  @PrimaryColumn({ type: "varchar", length: 100, collation: "utf8mb4_bin" })
  value: string;

  @Column({ type: "int", unsigned: true })
  total: number;

  @Column({ type: "int", unsigned: true })
  hits: number;
}

/**
 * Where a partner's open referrals' fit scores stand: the counters' revision they reflect, and which
 * run of the rescoring job holds the partner until when (a lease, so that two instances never
 * rescore one partner at once).
 */
@Entity("fit_rescoring")
export class FitRescoring {
  @PrimaryColumn({ name: "partner_id", type: "bigint", unsigned: true })
  @ForeignKey(() => Partner, { name: "fk_fit_rescoring_partner", onDelete: "RESTRICT", onUpdate: "RESTRICT" })
  partnerId: string;

  @Column({ name: "scored_revision", type: "int", unsigned: true, default: 0 })
  scoredRevision: number;

  @Column({ name: "leased_until", type: "datetime", precision: 3, nullable: true })
  leasedUntil: Date | null;

  /** Which run holds the lease: only it may renew or free it. */
  @Column({ name: "lease_token", type: "char", length: 36, nullable: true })
  leaseToken: string | null;
}
