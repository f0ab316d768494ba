import type { OutboxMessage } from "./outbox-message.entity.js";

/** "delivered", with the receiver's HTTP status when it has one; "obsolete" when there is nothing to send any more. */
export type DeliveryResult = "delivered" | "obsolete" | { responseStatus: number };

/** A failed attempt that got an answer: the answer's status is kept for operators. */
export class DeliveryFailure extends Error {
  override name = "DeliveryFailure";

  constructor(
    message: string,
    readonly responseStatus: number | null = null,
  ) {
    super(message);
  }
}

/**
 * What delivers one channel's messages (e-mail, webhooks). `P` is what `prepare` reads for a claim's
 * messages at once, handed to each delivery.
 */
export interface OutboxChannel<P = unknown> {
  readonly name: string;
  /** The delays between attempts; once used up, a message is FAILED. */
  readonly retryDelaysMs: readonly number[];
  /** Deliveries in flight at once on one instance. */
  readonly inFlight: number;
  /** At most this many deliveries to one recipient at once per instance: a slow recipient never holds every slot. */
  readonly perRecipient?: number;
  /** SQL on the message `o` that a due message must also meet to be claimed (an order to keep, a recipient switched off). */
  readonly claimableWhen?: string;
  /**
   * Delivers the message, or throws why it could not (it is retried). "obsolete" when there is nothing
   * to send any more (a reminder for a referral answered meanwhile): the message is dropped. When
   * `deadline` aborts, the delivery stops at once for real (its connection closed): nothing it sent
   * may complete afterwards, as the message will be sent again. `prepared`: what `prepare` read for
   * it; without it, the delivery reads what it needs itself.
   */
  deliver(message: OutboxMessage, deadline: AbortSignal, prepared?: P): Promise<DeliveryResult>;
  /**
   * Reads what the messages of one claim will need, in one statement rather than one per message,
   * just before they are delivered: by message id (a message may be missing).
   */
  prepare?(messages: readonly OutboxMessage[]): Promise<Map<string, P>>;
  /** Hears of each attempt once its outcome is recorded: `failure` is undefined after a success. */
  attempted?(message: OutboxMessage, failure: unknown): Promise<void>;
}

/** The recurring relay run: messages of other instances' changes, and retries, are never later than this. */
export const RELAY_POLL_MS = 5000;
