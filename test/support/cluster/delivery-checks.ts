import type mysql from "mysql2/promise";
import { percentiles } from "../percentiles.js";
import { duplicates, groupBy, sample, type Check, type Evidence, type FeedEvent } from "./checks.js";
import { heldOrBehind, type HeldMessage } from "./faults.js";

interface OutboxRow extends mysql.RowDataPacket {
  id: string;
  channel: string;
  kind: string;
  endpointId: string | null;
  referralId: string | null;
  eventId: string | null;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
}

async function outboxRows(db: mysql.Pool, channel: string): Promise<OutboxRow[]> {
  const [rows] = await db.query<OutboxRow[]>(
    `SELECT CAST(id AS CHAR) AS id, channel, kind, CAST(endpoint_id AS CHAR) AS endpointId, CAST(referral_id AS CHAR) AS referralId,
            CAST(event_id AS CHAR) AS eventId, status, created_at AS createdAt, sent_at AS sentAt
     FROM outbox_messages o WHERE o.channel = ? ORDER BY o.id`,
    [channel],
  );
  return rows;
}

/** The pending messages a run shorter than the lease may leave (see heldOrBehind). */
function excusedPending({ faults, excuseHeld }: Evidence, rows: readonly OutboxRow[]): Set<string> {
  if (!excuseHeld) return new Set();
  return new Set(rows.filter((row) => row.status === "PENDING" && heldOrBehind(faults.kills, row)).map((row) => row.id));
}

function statusCounts(rows: readonly OutboxRow[]): string {
  return [...groupBy(rows, (row) => row.status)].map(([status, some]) => `${status} ${some.length}`).join(", ");
}

/** Every receiver got every change of its partner (answered 2xx), each webhook-id with one body, nothing left pending or failed. */
export async function webhooksDelivered(evidence: Evidence, events: readonly FeedEvent[]): Promise<Check> {
  const rows = await outboxRows(evidence.db, "webhook");
  const excused = excusedPending(evidence, rows);
  const excusedEvents = new Set(rows.filter((row) => excused.has(row.id)).map((row) => row.eventId));
  const unfinished = rows.filter((row) => row.status !== "SUCCEEDED" && !excused.has(row.id));
  const byPartner = groupBy(events, (event) => event.partnerId);
  const wrong: string[] = [];
  let bodiesDiffer = 0;
  for (const partner of evidence.partners) {
    const receipts = partner.receiver.received.map((hook) => ({
      id: String(hook.headers["webhook-id"]),
      body: hook.body,
      ok: typeof hook.answer === "number" && hook.answer >= 200 && hook.answer < 300,
    }));
    for (const [, same] of groupBy(receipts, (receipt) => receipt.id)) if (new Set(same.map((r) => r.body)).size > 1) bodiesDiffer++;
    const got = new Set(receipts.filter((r) => r.ok).map((r) => JSON.parse(r.body).data.cursor as string));
    const expected = (byPartner.get(partner.id) ?? []).filter((event) => !excusedEvents.has(event.id));
    const missing = expected.filter((event) => !got.has(event.cursor));
    const own = new Set((byPartner.get(partner.id) ?? []).map((event) => event.cursor));
    const foreign = [...got].filter((cursor) => !own.has(cursor));
    if (missing.length > 0 || foreign.length > 0) {
      wrong.push(
        `receiver ${partner.index + 1}: ${missing.length} of ${expected.length} changes never received, ${foreign.length} of other partners`,
      );
    }
  }
  return {
    name: "every receiver got every change of its partner, one body per webhook-id, nothing left pending",
    pass: wrong.length === 0 && bodiesDiffer === 0 && unfinished.length === 0,
    detail: [
      `${rows.length} deliveries: ${statusCounts(rows)}${excused.size > 0 ? ` (${excused.size} pending behind a killed instance's lease, excused)` : ""}`,
      ...(unfinished.length > 0 ? [`not delivered: ${sample(unfinished.map((row) => `${row.id} ${row.status}`))}`] : []),
      ...(bodiesDiffer > 0 ? [`${bodiesDiffer} webhook-ids received with different bodies`] : []),
      ...wrong.slice(0, 5),
    ],
  };
}

/** Every e-mail that was due was written and sent: all EMAIL rows SUCCEEDED, each Message-ID received. */
export async function emailsSent(evidence: Evidence): Promise<Check> {
  const { db, smtp, mailDomain } = evidence;
  const rows = await outboxRows(db, "email");
  const excused = excusedPending(evidence, rows);
  const unfinished = rows.filter((row) => row.status !== "SUCCEEDED" && !excused.has(row.id));
  const accepted = new Set(smtp.accepted.map((mail) => mail.messageId));
  const unseen = rows.filter((row) => row.status === "SUCCEEDED" && !accepted.has(`<notification-${row.id}@${mailDomain}>`));
  const [[{ unalerted }]] = await db.query<mysql.RowDataPacket[]>(
    `SELECT COUNT(*) AS unalerted FROM referrals r
     WHERE NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.referral_id = r.id AND o.kind = 'NEW_REFERRAL')`,
  );
  const [[{ untold }]] = await db.query<mysql.RowDataPacket[]>(
    `SELECT COUNT(*) AS untold FROM referrals r WHERE r.status IN ('IGNORED', 'DECLINED', 'MISSED', 'EXPIRED')
       AND NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.referral_id = r.id AND o.kind = 'CHOOSE_ANOTHER_PARTNER')`,
  );
  return {
    name: "every e-mail that was due was sent (all SUCCEEDED, each Message-ID received)",
    pass: unfinished.length === 0 && unseen.length === 0 && Number(unalerted) === 0 && Number(untold) === 0,
    detail: [
      `${rows.length} e-mails: ${statusCounts(rows)}${excused.size > 0 ? ` (${excused.size} held by a killed instance's lease, excused)` : ""}; ${smtp.accepted.length} accepted by SMTP`,
      ...(unfinished.length > 0 ? [`not sent: ${sample(unfinished.map((row) => `${row.id} ${row.kind} ${row.status}`))}`] : []),
      ...(unseen.length > 0 ? [`SUCCEEDED but never received: ${unseen.length}, e.g. ${sample(unseen.map((row) => row.id))}`] : []),
      ...(Number(unalerted) > 0 ? [`${unalerted} referrals without a NEW_REFERRAL e-mail`] : []),
      ...(Number(untold) > 0 ? [`${untold} passed or lapsed referrals without a CHOOSE_ANOTHER_PARTNER e-mail`] : []),
    ],
  };
}

/** No message received twice, except one whose first receipt came just before a SIGKILL (counted apart). */
export function noDuplicates(evidence: Evidence): Check {
  const hooks = evidence.partners.flatMap((partner) =>
    partner.receiver.received
      .filter((hook) => typeof hook.answer === "number" && hook.answer >= 200 && hook.answer < 300)
      .map((hook) => ({ id: String(hook.headers["webhook-id"]), at: hook.at })),
  );
  const mails = evidence.smtp.accepted.map((mail) => ({ id: mail.messageId, at: mail.at }));
  const webhooks = duplicates(hooks, evidence.faults, evidence.instances);
  const emails = duplicates(mails, evidence.faults, evidence.instances);
  const seconds = (at: number) => `${Math.round((at - evidence.loadStartedAt) / 1000)} s`;
  const line = (what: string, found: ReturnType<typeof duplicates>) =>
    `${what}: ${found.unexcused.length} duplicates` +
    `${found.unexcused.length > 0 ? ` (e.g. ${sample(found.unexcused.map((duplicate) => `${duplicate.id} at ${duplicate.at.map(seconds).join(" and ")}`))})` : ""}; ` +
    `excused: ${found.atKill.length} in flight at a SIGKILL, ${found.atCrash.length} at a crash`;
  return {
    name: "no webhook-id or Message-ID received twice (except in flight at a SIGKILL)",
    pass: webhooks.unexcused.length === 0 && emails.unexcused.length === 0,
    detail: [line("webhooks", webhooks), line("e-mails", emails)],
  };
}

/**
 * How long the messages left under a lease at a kill waited (from the kill to their delivery, or to
 * now when still pending), and the deliveries queued behind them: a measure, not a verdict. Each is
 * counted at the first kill that found it (an instance that crashed meanwhile may hold some too).
 */
export async function heldByKilled(evidence: Evidence): Promise<string[]> {
  const lines: string[] = [];
  const counted = new Set<string>();
  for (const kill of evidence.faults.kills) {
    const held = kill.held.filter((message) => !counted.has(message.id));
    for (const message of held) counted.add(message.id);
    const when = `${kill.instance} SIGKILLed at ${Math.round((kill.at - evidence.loadStartedAt) / 1000)} s`;
    if (held.length === 0) {
      lines.push(`${when}: no message left under its lease`);
      continue;
    }
    const ids = held.map((message: HeldMessage) => message.id);
    const [rows] = await evidence.db.query<OutboxRow[]>(
      `SELECT CAST(id AS CHAR) AS id, channel, status, sent_at AS sentAt FROM outbox_messages WHERE id IN (?)`,
      [ids],
    );
    if (rows.length === 0) {
      lines.push(`${when}: ${held.length} messages left under its lease, dropped since as having nothing to send`);
      continue;
    }
    const waits = rows.map((row) => ((row.sentAt?.getTime() ?? Date.now()) - kill.at) / 1000);
    const [[behind]] = await evidence.db.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n, MAX(TIMESTAMPDIFF(MICROSECOND, o.created_at, COALESCE(o.sent_at, NOW(3)))) / 1e6 AS longest
       FROM outbox_messages o JOIN outbox_messages h ON h.id IN (?) AND h.endpoint_id = o.endpoint_id AND h.referral_id = o.referral_id AND o.id > h.id
       WHERE o.created_at <= COALESCE(h.sent_at, NOW(3))`,
      [ids],
    );
    const channels = [...groupBy(rows, (row) => row.channel)].map(([channel, some]) => `${some.length} ${channel}`).join(", ");
    const { p50, max } = percentiles(waits);
    lines.push(
      `${when}: ${channels} left under its lease waited ${p50.toFixed(0)} s (median), ${max.toFixed(0)} s (longest) from the kill` +
        `${rows.some((row) => row.status === "PENDING") ? ", some still pending" : ""}; ${Number(behind.n)} later deliveries queued behind them` +
        (Number(behind.n) > 0 ? ` (longest wait ${Number(behind.longest).toFixed(0)} s)` : ""),
    );
  }
  return lines;
}

/** No instance ended unless the run ended it. */
export function noCrash({ instances }: Evidence): Check {
  const crashes = instances.flatMap((instance) => instance.exits.filter((exit) => !exit.killed).map((exit) => ({ instance, exit })));
  return {
    name: "no instance exited on its own",
    pass: crashes.length === 0,
    detail: crashes.map(
      ({ instance, exit }) =>
        `${instance.name} exited (code ${exit.code}, signal ${exit.signal}) at ${new Date(exit.at).toISOString()}; log: ${instance.logFile}`,
    ),
  };
}
