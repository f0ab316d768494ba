import type { Queryable } from "../db/entity-rows.js";
import type { PlacedEvents } from "../change-feed/index.js";
import { DeliveryStatus } from "../outbox/index.js";
import { ReferralAction } from "../referrals/lifecycle.js";
import { WebhookEventType } from "./webhook-event-type.js";

export const WEBHOOK_CHANNEL = "webhook";

/** Rows one INSERT writes at most (a batch of 5,000 changes may call for several times as many deliveries). */
const INSERT_ROWS = 1000;

interface Delivery {
  type: string;
  dedupeKey: string;
  referralId: string;
  endpointId: string;
  eventId: string;
}

/**
 * The webhook deliveries of a batch of changes, written in the sequencer's transaction with the
 * batch itself (src/change-feed/sequencer.ts): one row per change and enabled endpoint of the change's
 * partner that asked for its type. The dedupe key makes a batch's deliveries unique.
 *
 * Read first (a plain read under the sequencer's READ COMMITTED), then inserted with VALUES: an INSERT …
 * SELECT holds the table's AUTO-INC lock for the whole statement (innodb_autoinc_lock_mode 1, MariaDB's
 * default), so while its foreign-key check waited for a referral that a request holds, every other
 * INSERT into the outbox waited too, and InnoDB broke the cycle by failing a request. Rows go in order
 * of referral, then change, then endpoint: the referral locks of the foreign-key checks are taken in
 * ascending order, like rescoring's (fit-scores.ts), and each referral's deliveries to an endpoint are
 * in change order (the relay keeps them in id order).
 */
export async function writeWebhookDeliveries(q: Queryable, { events }: PlacedEvents, now: Date): Promise<number> {
  const deliveries: Delivery[] = await q.query(
    `SELECT t.type, CONCAT('webhook:', w.id, ':', t.id) AS dedupeKey, CAST(t.referral_id AS CHAR) AS referralId,
            CAST(w.id AS CHAR) AS endpointId, CAST(t.id AS CHAR) AS eventId
     FROM (SELECT e.id, e.referral_id, e.partner_id, IF(e.action = ?, ?, ?) AS type FROM referral_events e WHERE e.id IN (?)) t
     JOIN webhook_endpoints w ON w.partner_id = t.partner_id AND w.enabled = 1 AND FIND_IN_SET(t.type, w.events) > 0
     ORDER BY t.referral_id, t.id, w.id`,
    [ReferralAction.RECEIVE, WebhookEventType.REFERRAL_RECEIVED, WebhookEventType.REFERRAL_UPDATED, events.map(({ id }) => id)],
  );
  let written = 0;
  for (let start = 0; start < deliveries.length; start += INSERT_ROWS) {
    const result = await q.query(
      `INSERT IGNORE INTO outbox_messages
         (channel, kind, dedupe_key, referral_id, endpoint_id, event_id, recipient, locale, status, attempts, next_attempt_at, created_at)
       VALUES ?`,
      [
        deliveries
          .slice(start, start + INSERT_ROWS)
          .map((d) => [
            WEBHOOK_CHANNEL,
            d.type,
            d.dedupeKey,
            d.referralId,
            d.endpointId,
            d.eventId,
            d.endpointId,
            "EN",
            DeliveryStatus.PENDING,
            0,
            now,
            now,
          ]),
      ],
    );
    written += (result as { affectedRows?: number }).affectedRows ?? 0;
  }
  return written;
}
