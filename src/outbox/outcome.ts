import type { Queryable } from "../db/entity-rows.js";
import { DeliveryStatus, type OutboxMessage } from "./outbox-message.entity.js";

/** What an attempt came to: nothing left to send, sent (with the receiver's status, if any), or a failure. */
export type Outcome = { obsolete: true } | { responseStatus: number | null } | { failure: unknown; retryInMs: number | undefined };

const MAX_ERROR_LENGTH = 1000;

/**
 * Writes an attempt's outcome, if the run still holds the message's lease (its token): an obsolete
 * message is deleted, a sent one SUCCEEDED, a failed one due again after `retryInMs`, or FAILED when
 * its retries are used up.
 */
export async function recordOutcome(q: Queryable, message: OutboxMessage, outcome: Outcome): Promise<void> {
  const held = "id = ? AND lease_token = ?";
  if ("obsolete" in outcome) {
    await q.query(`DELETE FROM outbox_messages WHERE ${held}`, [message.id, message.leaseToken]);
    return;
  }
  if (!("failure" in outcome)) {
    await q.query(
      `UPDATE outbox_messages SET status = ?, attempts = attempts + 1, sent_at = ?, last_attempt_at = ?, last_response_status = ?,
         last_error = NULL, lease_token = NULL WHERE ${held}`,
      [DeliveryStatus.SUCCEEDED, new Date(), new Date(), outcome.responseStatus, message.id, message.leaseToken],
    );
    return;
  }
  const { failure, retryInMs } = outcome;
  const why = (failure instanceof Error ? failure.message : String(failure)).slice(0, MAX_ERROR_LENGTH);
  const responseStatus = (failure as { responseStatus?: number | null }).responseStatus ?? null;
  await q.query(
    `UPDATE outbox_messages SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?, last_response_status = ?,
       last_error = ?, lease_token = NULL WHERE ${held}`,
    [
      retryInMs === undefined ? DeliveryStatus.FAILED : DeliveryStatus.PENDING,
      new Date(Date.now() + (retryInMs ?? 0)),
      new Date(),
      responseStatus,
      why,
      message.id,
      message.leaseToken,
    ],
  );
}
