import type { Queryable } from "../db/entity-rows.js";
import { DeliveryStatus } from "../outbox/outbox-message.entity.js";
import { ReferralAction } from "../referrals/lifecycle.js";
import { WebhookEventType } from "./webhook-event-type.js";

export const WEBHOOK_CHANNEL = "webhook";

/**
 * The webhook deliveries of a batch of changes, written in the sequencer's transaction with the
 * batch itself (src/change-feed/sequencer.ts): one row per change and enabled endpoint of the change's
 * partner that asked for its type, in one statement, in commit order (the relay keeps each referral's
 * deliveries to an endpoint in id order). The dedupe key makes a batch's deliveries unique.
 */
export async function writeWebhookDeliveries(q: Queryable, batch: number, now: Date): Promise<number> {
  const result = await q.query(
    `INSERT IGNORE INTO outbox_messages
       (channel, kind, dedupe_key, referral_id, endpoint_id, event_id, recipient, locale, status, attempts, next_attempt_at, created_at)
     SELECT ?, t.type, CONCAT('webhook:', w.id, ':', t.id), t.referral_id, w.id, t.id, CAST(w.id AS CHAR), 'EN', ?, 0, ?, ?
     FROM (SELECT e.id, e.referral_id, e.partner_id, IF(e.action = ?, ?, ?) AS type FROM referral_events e WHERE e.feed_batch = ?) t
     JOIN webhook_endpoints w ON w.partner_id = t.partner_id AND w.enabled = 1 AND FIND_IN_SET(t.type, w.events) > 0
     ORDER BY t.id, w.id`,
    [
      WEBHOOK_CHANNEL,
      DeliveryStatus.PENDING,
      now,
      now,
      ReferralAction.RECEIVE,
      WebhookEventType.REFERRAL_RECEIVED,
      WebhookEventType.REFERRAL_UPDATED,
      batch,
    ],
  );
  return (result as { affectedRows?: number }).affectedRows ?? 0;
}
