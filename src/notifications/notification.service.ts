import type { DataSource } from "typeorm";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { idCursors, isRowId } from "../db/ids.js";
import { poolReader } from "../db/pool.js";
import { DeliveryStatus, OutboxMessage } from "../outbox/index.js";
import { requestedPageSize } from "../graphql/paging.js";
import { EMAIL_CHANNEL, type NotificationKind } from "./notification-kind.js";
import type { Notification, NotificationConnection } from "./notification.types.js";

export interface NotificationFilter {
  referralId?: string | null;
  status?: DeliveryStatus | null;
  first?: number | null;
  after?: string | null;
}

const cursors = idCursors("notification");

function notificationOf(message: OutboxMessage): Notification {
  const { id, kind, recipient, referralId, status, attempts, createdAt, sentAt, lastError } = message;
  return { id, kind: kind as NotificationKind, to: recipient, referralId, status, attempts, createdAt, sentAt, lastError } as Notification;
}

/** The e-mails of the outbox about referrals, newest first, for operators. */
export class NotificationService {
  private readonly rows: EntityRows<OutboxMessage>;
  private readonly db: Queryable;

  constructor(db: DataSource) {
    this.rows = new EntityRows(db, OutboxMessage);
    this.db = poolReader(db);
  }

  async page(filter: NotificationFilter): Promise<NotificationConnection> {
    const size = requestedPageSize(filter.first);
    if (filter.referralId != null && !isRowId(filter.referralId)) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    const and = (condition: string, parameter: unknown) => {
      conditions.push(condition);
      parameters.push(parameter);
    };
    and("o.channel = ?", EMAIL_CHANNEL);
    // Every listed e-mail names its referral; notices about a webhook endpoint show in the endpoint's disabledReason.
    conditions.push("o.referral_id IS NOT NULL");
    if (filter.referralId != null) and("o.referral_id = ?", filter.referralId);
    if (filter.status != null) and("o.status = ?", filter.status);
    if (filter.after) and("o.id < ?", cursors.decode(filter.after));
    const found = await this.rows.select(this.db, "o", `WHERE ${conditions.join(" AND ")} ORDER BY o.id DESC LIMIT ?`, [
      ...parameters,
      size + 1,
    ]);
    const edges = found.slice(0, size).map((message) => ({ cursor: cursors.encode(message.id), node: notificationOf(message) }));
    return { edges, pageInfo: { hasNextPage: found.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
