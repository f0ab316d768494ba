import type { Logger } from "pino";
import type { ReferralAction } from "./lifecycle.js";
import type { Referral } from "./referral.entity.js";

/** A committed change of one referral: its arrival, or anything that happened to it afterwards. */
export interface ReferralChange {
  kind: "received" | "updated";
  action: ReferralAction;
  /** The referral as the change left it. */
  referral: Referral;
}

/** Receives the changes one transaction committed, in order (a batch of expiries may hold thousands). */
type ReferralChangeListener = (changes: readonly ReferralChange[]) => void | Promise<void>;

/**
 * Tells the rest of the server (fit scores, deadline jobs, live feeds) about changes, only once their
 * transaction has committed. A listener that fails is logged and does not undo the change: the
 * database row stays the source of truth, and the deadline sweeper catches anything missed.
 */
export class ReferralChanges {
  private readonly listeners = new Set<ReferralChangeListener>();

  constructor(private readonly logger: Logger) {}

  listen(listener: ReferralChangeListener): void {
    this.listeners.add(listener);
  }

  /** Tells every listener, in the order they started listening, of the changes. */
  async committed(changes: readonly ReferralChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const listener of this.listeners) {
      try {
        await listener(changes);
      } catch (err) {
        const [{ referral, action }] = changes;
        this.logger.error({ err, referralId: referral.id, action, changes: changes.length }, "a listener failed on referral changes");
      }
    }
  }
}
