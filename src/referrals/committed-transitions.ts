import type { Logger } from "pino";
import type { Transition } from "./record-transitions.js";

/** Hears of the transitions one transaction committed, in order (a batch of expiries may hold thousands). */
type TransitionConsumer = (transitions: readonly Transition[]) => void | Promise<void>;

/**
 * Tells the in-process consumers (src/app/background.ts names them) of transitions, only once their
 * transaction has committed, on the instance that made them. A consumer that fails is logged and
 * does not undo anything: the database row stays the source of truth, and the sweeps catch up.
 */
export class CommittedTransitions {
  private readonly consumers = new Set<TransitionConsumer>();

  constructor(private readonly logger: Logger) {}

  listen(consumer: TransitionConsumer): void {
    this.consumers.add(consumer);
  }

  /** Tells every consumer, in the order they started listening, of the transitions. */
  async committed(transitions: readonly Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    for (const consumer of this.consumers) {
      try {
        await consumer(transitions);
      } catch (err) {
        const [{ referral, action }] = transitions;
        this.logger.error(
          { err, referralId: referral.id, action, transitions: transitions.length },
          "a consumer of committed transitions failed",
        );
      }
    }
  }
}
