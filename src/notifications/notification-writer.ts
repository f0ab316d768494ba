import type { EntityManager } from "typeorm";
import type { Queryable } from "../db/entity-rows.js";
import type { PlacedEvents } from "../change-feed/index.js";
import { DeliveryStatus } from "../outbox/index.js";
import { customerChoosesAnother, ReferralAction, ReferralStatus } from "../referrals/lifecycle.js";
import { EMAIL_CHANNEL, emailDedupeKey, endpointEmailDedupeKey, NotificationKind } from "./notification-kind.js";

/** Who receives an e-mail, in which language: about a referral (one of a kind each), or about a webhook endpoint. */
type Recipient = { address: string; locale: string } & (
  | { referralId: string }
  | { referralId: null; endpointId: string; dedupeKey: string }
);

const COLUMNS = "(channel, kind, dedupe_key, referral_id, endpoint_id, recipient, locale, status, attempts, next_attempt_at, created_at)";

/**
 * The e-mails a change writes to the outbox, in the change's transaction, in one statement per kind
 * whatever the number of referrals. Recipients are read first with a plain read, then the rows are
 * inserted: an INSERT … SELECT would lock the rows it reads, and the gap after the newest referral,
 * against concurrent arrivals; and it would hold the table's AUTO-INC lock for the whole statement
 * (innodb_autoinc_lock_mode 1, MariaDB's default), so every other insert into the outbox would wait
 * behind its reads (src/webhooks/webhook-writer.ts tells how that ended). Each row's dedupe key is
 * unique, so a kind is written once per referral (or, for an endpoint, once per recipient of the key
 * its writer gives).
 */
async function write(q: Queryable, kind: NotificationKind, recipients: Recipient[], now: Date, ignoreDuplicates = false): Promise<number> {
  if (recipients.length === 0) return 0;
  const result = await q.query(
    `INSERT ${ignoreDuplicates ? "IGNORE " : ""}INTO outbox_messages
       ${COLUMNS} VALUES ?`,
    [
      recipients.map((to) => {
        const [dedupeKey, endpointId] =
          to.referralId === null ? [to.dedupeKey, to.endpointId] : [emailDedupeKey(kind, to.referralId), null];
        return [EMAIL_CHANNEL, kind, dedupeKey, to.referralId, endpointId, to.address, to.locale, DeliveryStatus.PENDING, 0, now, now];
      }),
    ],
  );
  return (result as { affectedRows?: number }).affectedRows ?? 0;
}

const TO_CONTACT = `SELECT CAST(r.id AS CHAR) AS referralId, m.contact_email AS address, m.locale
  FROM referrals r JOIN marketing_profiles m ON m.id = r.profile_id`;

const CHOOSING_ANOTHER = Object.values(ReferralStatus).filter(customerChoosesAnother);

/**
 * The e-mails of a batch of placed changes, written in the sequencer's transaction with the batch
 * (src/change-feed/sequencer.ts), as the webhook deliveries are: NEW_REFERRAL to the profile contact
 * of each arrival, in the contact's language; CHOOSE_ANOTHER_PARTNER to the customer of each referral
 * its partner passed on or let lapse, in the customer's language. Each kind is one e-mail per
 * referral (its dedupe key), so writing a batch again writes nothing. Answers how many rows it wrote.
 */
export async function writeChangeEmails(q: Queryable, { events }: PlacedEvents, now: Date): Promise<number> {
  const arrive = events.some(({ action }) => action === ReferralAction.RECEIVE);
  const pass = events.some(({ to }) => CHOOSING_ANOTHER.includes(to as ReferralStatus));
  // Most batches of a partner's answers call for no e-mail: then nothing is read.
  if (!arrive && !pass) return 0;
  const ids = events.map(({ id }) => id);
  const recipients: (Recipient & { kind: NotificationKind })[] = await q.query(
    `SELECT ? AS kind, CAST(r.id AS CHAR) AS referralId, m.contact_email AS address, m.locale
     FROM referral_events e JOIN referrals r ON r.id = e.referral_id JOIN marketing_profiles m ON m.id = r.profile_id
     WHERE e.id IN (?) AND e.action = ?
     UNION ALL
     SELECT ?, CAST(r.id AS CHAR), f.customer_email, f.locale
     FROM referral_events e JOIN referrals r ON r.id = e.referral_id JOIN rfis f ON f.id = r.rfi_id
     WHERE e.id IN (?) AND e.to_status IN (?)
     ORDER BY referralId`,
    [NotificationKind.NEW_REFERRAL, ids, ReferralAction.RECEIVE, NotificationKind.CHOOSE_ANOTHER_PARTNER, ids, CHOOSING_ANOTHER],
  );
  const ofKind = (kind: NotificationKind) => recipients.filter((recipient) => recipient.kind === kind);
  return (
    (await write(q, NotificationKind.NEW_REFERRAL, ofKind(NotificationKind.NEW_REFERRAL), now, true)) +
    (await write(q, NotificationKind.CHOOSE_ANOTHER_PARTNER, ofKind(NotificationKind.CHOOSE_ANOTHER_PARTNER), now, true))
  );
}

/**
 * WEBHOOK_DISABLED to each of the partner's profile contacts, once per address (compared as MariaDB
 * compares them, ignoring case) in the language of its first profile, in the caller's transaction.
 * Each disabling writes its own e-mails: the key names the endpoint and `now`.
 */
export async function writeWebhookDisabledNotices(em: EntityManager, endpointId: string, partnerId: string, now: Date): Promise<void> {
  const kind = NotificationKind.WEBHOOK_DISABLED;
  const profiles: { address: string; locale: string }[] = await em.query(
    "SELECT contact_email AS address, locale FROM marketing_profiles WHERE partner_id = ? ORDER BY id",
    [partnerId],
  );
  const byAddress = new Map<string, { address: string; locale: string }>();
  for (const profile of profiles) {
    const address = profile.address.trim().toLowerCase();
    if (!byAddress.has(address)) byAddress.set(address, profile);
  }
  const recipients = [...byAddress.values()].map(
    ({ address, locale }, index): Recipient => ({
      referralId: null,
      endpointId,
      address,
      locale,
      dedupeKey: endpointEmailDedupeKey(kind, endpointId, now, index),
    }),
  );
  await write(em, kind, recipients, now);
}

/** Reminders one job run writes at most; the next run takes the rest. */
const REMINDER_BATCH = 5000;

/**
 * RESPONSE_REMINDER for every NEW referral whose deadline is within `beforeMs` of `now` and that has
 * none yet, for a job, in batches. Answers how many it wrote. INSERT IGNORE: a concurrent run's row wins.
 */
export async function writeDueReminders(db: Queryable, now: Date, beforeMs: number): Promise<number> {
  const kind = NotificationKind.RESPONSE_REMINDER;
  let written = 0;
  for (;;) {
    const due: Recipient[] = await db.query(
      `${TO_CONTACT}
       WHERE r.status = ? AND r.respond_by > ? AND r.respond_by <= ?
         AND NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.referral_id = r.id AND o.channel = ? AND o.kind = ?)
       LIMIT ${REMINDER_BATCH}`,
      [ReferralStatus.NEW, now, new Date(now.getTime() + beforeMs), EMAIL_CHANNEL, kind],
    );
    written += await write(db, kind, due, now, true);
    if (due.length < REMINDER_BATCH) return written;
  }
}
