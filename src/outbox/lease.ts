/**
 * How long a claim holds its messages, and how long a delivery may take within it. No dependencies:
 * the configuration bounds the channels' own timeouts by the deadline.
 */

/** The outbox's lease: a claimed message is due again when it ends (the instance may have died). */
export const LEASE_MS = 120_000;

/**
 * A delivery's hard deadline within a lease of `leaseMs`: it is aborted when it passes, and the other
 * half of the lease is left to record its outcome, so that no other claim can start while it runs.
 */
export function deliveryDeadline(leaseMs: number): number {
  return Math.floor(leaseMs / 2);
}

/** The deadline within the default lease: one minute. */
export const DELIVERY_DEADLINE_MS = deliveryDeadline(LEASE_MS);
