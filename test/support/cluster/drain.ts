import type mysql from "mysql2/promise";
import { sleep } from "./gateway.js";
import { heldOrBehind, type Kill } from "./faults.js";
import { feedEvents } from "./checks.js";
import type { Integrator } from "./reads.js";
import type { FeedSocket } from "./sockets.js";

/** Polls `check` until it holds or `timeoutMs` passes; whether it held. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

async function count(db: mysql.Pool, sql: string): Promise<number> {
  const [[row]] = await db.query<mysql.RowDataPacket[]>(sql);
  return Number(row.n);
}

/** Until no referral is open in a stage with a deadline (each was decided or lapsed), and every change is placed in the feed. */
export function decisionsSettled(db: mysql.Pool, timeoutMs: number): Promise<boolean> {
  return until(
    async () =>
      (await count(db, "SELECT COUNT(*) AS n FROM referrals WHERE status IN ('NEW', 'EVALUATING')")) === 0 &&
      (await count(db, "SELECT COUNT(*) AS n FROM referral_events WHERE feed_batch IS NULL")) === 0,
    timeoutMs,
  );
}

/** Until nothing is pending in the outbox, but what `kills` left under a lease when `excuseHeld`. */
export function outboxSettled(db: mysql.Pool, kills: readonly Kill[], excuseHeld: boolean, timeoutMs: number): Promise<boolean> {
  return until(async () => {
    const [pending] = await db.query<mysql.RowDataPacket[]>(
      `SELECT CAST(id AS CHAR) AS id, channel, CAST(endpoint_id AS CHAR) AS endpointId, CAST(referral_id AS CHAR) AS referralId
       FROM outbox_messages WHERE status = 'PENDING'`,
    );
    return pending.every((row) => excuseHeld && heldOrBehind(kills, row as never));
  }, timeoutMs);
}

/** Until every socket and integrator has its partner's last change. */
export function followersCaughtUp(db: mysql.Pool, sockets: readonly FeedSocket[], integrators: readonly Integrator[], timeoutMs: number) {
  return until(
    async () => {
      const last = new Map<string, string>();
      for (const event of await feedEvents(db)) last.set(event.partnerId, event.cursor);
      return (
        sockets.every((socket) => socket.last === last.get(socket.partner.id)) &&
        integrators.every((integrator) => (integrator.last ?? undefined) === last.get(integrator.partner.id))
      );
    },
    timeoutMs,
    1000,
  );
}

/** The outbox's pending messages per channel, the events not yet placed and the batches placed, for the progress line. */
export async function backlog(db: mysql.Pool): Promise<string> {
  const [channels] = await db.query<mysql.RowDataPacket[]>(
    "SELECT channel, COUNT(*) AS n FROM outbox_messages WHERE status = 'PENDING' GROUP BY channel ORDER BY channel",
  );
  const unplaced = await count(db, "SELECT COUNT(*) AS n FROM referral_events WHERE feed_batch IS NULL");
  const batches = await count(db, "SELECT last_batch AS n FROM feed_sequence");
  const pending = channels.map((row) => `${row.channel} ${row.n}`).join(", ") || "none";
  return `outbox pending: ${pending}; ${unplaced} events unplaced; ${batches} batches`;
}
