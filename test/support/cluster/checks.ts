import type mysql from "mysql2/promise";
import { decodeCursor, encodeCursor } from "../../../src/change-feed/position.js";
import type { MessageIdSink } from "./services.js";
import type { FaultLog } from "./faults.js";
import type { Tally } from "./gateway.js";
import type { Instance, Timings } from "./instances.js";
import type { Submission } from "./load.js";
import type { ClusterPartner } from "./population.js";
import type { Integrator } from "./reads.js";
import type { FeedSocket } from "./sockets.js";

/** One invariant's verdict, with the evidence behind it. */
export interface Check {
  name: string;
  pass: boolean;
  /** False for a figure reported without a verdict (a goal of a longer run); judged by default. */
  judged?: boolean;
  /** Counts, examples, and what failed. */
  detail: string[];
}

/** A committed change as the event table has it, in feed order. */
export interface FeedEvent {
  cursor: string;
  id: string;
  partnerId: string;
  referralId: string;
  action: string;
}

/** What a run leaves for the checks to read. */
export interface Evidence {
  db: mysql.Pool;
  partners: readonly ClusterPartner[];
  submissions: readonly Submission[];
  tally: Tally;
  sockets: readonly FeedSocket[];
  integrators: readonly Integrator[];
  /** The whole feed read with the ADMIN key after the run. */
  adminFeed: readonly string[];
  smtp: MessageIdSink;
  faults: FaultLog;
  instances: readonly Instance[];
  /** Messages a killed instance still holds under its lease may be pending at the end (a run shorter than the lease). */
  excuseHeld: boolean;
  /** The Message-ID domain (MAIL_FROM's). */
  mailDomain: string;
  windows: Pick<Timings, "newWindowMs" | "evaluationWindowMs">;
  /** When the load started: times in the details count from it. */
  loadStartedAt: number;
}

/** The event table in feed order (feed_batch, id): what every reader of the feed should get. */
export async function feedEvents(db: mysql.Pool): Promise<FeedEvent[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    // Ordered by the columns, not by the select list's text aliases.
    `SELECT CAST(e.id AS CHAR) AS id, CAST(e.feed_batch AS CHAR) AS batch, CAST(e.partner_id AS CHAR) AS partnerId,
            CAST(e.referral_id AS CHAR) AS referralId, e.action
     FROM referral_events e WHERE e.feed_batch IS NOT NULL ORDER BY e.feed_batch, e.id`,
  );
  return rows.map((row) => ({
    cursor: encodeCursor({ batch: Number(row.batch), id: row.id }),
    id: row.id,
    partnerId: row.partnerId,
    referralId: row.referralId,
    action: row.action,
  }));
}

/** How `got` differs from `expected` (both in order), or undefined when equal. */
export interface SequenceDiff {
  missing: string[];
  extra: string[];
  /** Indexes in `got` of cursors seen before. */
  repeats: number[];
  /** The first index where they differ. */
  firstDifference: number;
}

export function compareSequences(got: readonly string[], expected: readonly string[]): SequenceDiff | undefined {
  const firstDifference = got.findIndex((cursor, n) => cursor !== expected[n]);
  if (firstDifference === -1 && got.length === expected.length) return undefined;
  const wanted = new Set(expected);
  const seen = new Set<string>();
  const repeats: number[] = [];
  got.forEach((cursor, n) => (seen.has(cursor) ? repeats.push(n) : seen.add(cursor)));
  return {
    missing: expected.filter((cursor) => !seen.has(cursor)),
    extra: [...seen].filter((cursor) => !wanted.has(cursor)),
    repeats,
    firstDifference: firstDifference === -1 ? got.length : firstDifference,
  };
}

export function describeDiff(diff: SequenceDiff, got: readonly string[], expected: readonly string[]): string {
  const at = diff.firstDifference;
  const around = (cursors: readonly string[]) =>
    cursors
      .slice(at, at + 3)
      .map(positionOf)
      .join(" ") || "(end)";
  return (
    `got ${got.length} of ${expected.length}: ${diff.missing.length} missing, ${diff.extra.length} not expected, ${diff.repeats.length} repeated; ` +
    `first difference at #${at}: got ${around(got)}, expected ${around(expected)} (batch:id)`
  );
}

/** `batch:id` of a cursor, for reading. */
export function positionOf(cursor: string): string {
  const { batch, id } = decodeCursor(cursor);
  return `${batch}:${id}`;
}

/** Groups `items` by `key`. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** How long before (and after) an instance died a first receipt may be that the dead instance never got to record. */
const IN_FLIGHT_BEFORE_DEATH_MS = 5000;

/**
 * Duplicates of a message (the same webhook-id or Message-ID received more than once), each excused
 * when its first receipt happened just before an instance died (at least once allows it): SIGKILLed
 * by the run, or crashed (a crash fails its own check).
 */
export function duplicates(
  receipts: readonly { id: string; at: number }[],
  faults: FaultLog,
  instances: readonly Instance[],
): { unexcused: Duplicate[]; atKill: Duplicate[]; atCrash: Duplicate[] } {
  const found = { unexcused: [] as Duplicate[], atKill: [] as Duplicate[], atCrash: [] as Duplicate[] };
  const crashes = instances.flatMap((instance) => instance.exits.filter((exit) => !exit.killed).map((exit) => exit.at));
  const near = (first: number, death: number) => first >= death - IN_FLIGHT_BEFORE_DEATH_MS && first <= death + 1000;
  for (const [id, times] of groupBy(receipts, (receipt) => receipt.id)) {
    if (times.length < 2) continue;
    const duplicate = { id, at: times.map((receipt) => receipt.at).sort((a, b) => a - b) };
    const [first] = duplicate.at;
    if (faults.kills.some((kill) => near(first, kill.at))) found.atKill.push(duplicate);
    else if (crashes.some((crash) => near(first, crash))) found.atCrash.push(duplicate);
    else found.unexcused.push(duplicate);
  }
  return found;
}

/** A message received more than once: its id, and when each copy arrived. */
export interface Duplicate {
  id: string;
  at: number[];
}

export function sample<T>(items: readonly T[], count = 3): string {
  return items.slice(0, count).map(String).join(", ") + (items.length > count ? ", …" : "");
}
