import type { DataSource } from "typeorm";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { isRowId } from "../db/ids.js";
import { poolReader } from "../db/pool.js";
import { badInput } from "../graphql/errors.js";
import { DeliveryStatus, OutboxMessage } from "../outbox/outbox-message.entity.js";
import { pageSize } from "../referrals/referral.inputs.js";
import { EMAIL_CHANNEL, type NotificationKind } from "./notification-kind.js";
import type { Notification, NotificationConnection } from "./notification.types.js";

export interface NotificationFilter {
  referralId?: string | null;
  status?: DeliveryStatus | null;
  first?: number | null;
  after?: string | null;
}

const encodeCursor = (id: string) => Buffer.from(`notification:${id}`).toString("base64url");

function decodeCursor(cursor: string): string {
  const id = /^notification:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"))?.[1];
  if (id === undefined || !isRowId(id)) throw badInput("after", "is not a cursor this API gave out");
  return id;
}

function notificationOf(message: OutboxMessage): Notification {
  const { id, kind, recipient, referralId, status, attempts, createdAt, sentAt, lastError } = message;
  return { id, kind: kind as NotificationKind, to: recipient, referralId, status, attempts, createdAt, sentAt, lastError } as Notification;
}

/** The e-mails of the outbox, newest first, for operators. */
export class NotificationService {
  private readonly rows: EntityRows<OutboxMessage>;
  private readonly db: Queryable;

  constructor(db: DataSource) {
    this.rows = new EntityRows(db, OutboxMessage);
    this.db = poolReader(db);
  }

  async page(filter: NotificationFilter): Promise<NotificationConnection> {
    const size = pageSize(filter.first);
    if (filter.first != null && filter.first < 0) throw badInput("first", "must not be negative");
    if (filter.referralId != null && !isRowId(filter.referralId)) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    const and = (condition: string, parameter: unknown) => {
      conditions.push(condition);
      parameters.push(parameter);
    };
    and("o.channel = ?", EMAIL_CHANNEL);
    if (filter.referralId != null) and("o.referral_id = ?", filter.referralId);
    if (filter.status != null) and("o.status = ?", filter.status);
    if (filter.after) and("o.id < ?", decodeCursor(filter.after));
    const found = await this.rows.select(this.db, "o", `WHERE ${conditions.join(" AND ")} ORDER BY o.id DESC LIMIT ?`, [
      ...parameters,
      size + 1,
    ]);
    const edges = found.slice(0, size).map((message) => ({ cursor: encodeCursor(message.id), node: notificationOf(message) }));
    return { edges, pageInfo: { hasNextPage: found.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
