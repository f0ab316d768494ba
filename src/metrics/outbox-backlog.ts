import type { DataSource } from "typeorm";
import { tagged } from "../db/background.js";
import { DeliveryStatus } from "../outbox/index.js";
import type { OutboxBacklog } from "./metrics.js";

/**
 * The outbox's backlog per channel, in one grouped statement: messages waiting (PENDING) and the age
 * of the oldest. Every channel of `channels` is in the answer, at 0 when nothing waits for it.
 */
export async function outboxBacklog(db: DataSource, channels: readonly string[], now = Date.now()): Promise<Map<string, OutboxBacklog>> {
  const rows: { channel: string; pending: string | number; oldest: Date | null }[] = await tagged(db, "metrics").query(
    "SELECT channel, COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox_messages WHERE status = ? GROUP BY channel",
    [DeliveryStatus.PENDING],
  );
  const backlog = new Map<string, OutboxBacklog>(channels.map((channel) => [channel, { pending: 0, oldestAgeSeconds: 0 }]));
  for (const { channel, pending, oldest } of rows) {
    backlog.set(channel, {
      pending: Number(pending),
      oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now - new Date(oldest).getTime()) / 1000),
    });
  }
  return backlog;
}
