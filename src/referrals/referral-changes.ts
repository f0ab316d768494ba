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

type ReferralChangeListener = (change: ReferralChange) => void | Promise<void>;

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

  /** Tells every listener, in the order they started listening, of each change. */
  async committed(changes: ReferralChange[]): Promise<void> {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          await listener(change);
        } catch (err) {
          this.logger.error({ err, referralId: change.referral.id, action: change.action }, "a listener failed on a referral change");
        }
      }
    }
  }
}
