import type { DataSource } from "typeorm";
import { partnerScope, type Caller } from "../graphql/caller.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";
import { isRowId } from "../db/ids.js";
import { badInput } from "../graphql/errors.js";
import { requestedPageSize } from "../graphql/paging.js";
import { statusesInStage, type ReferralStatus } from "./lifecycle.js";
import { Partner } from "../partners/index.js";
import { Rfi } from "../rfis/rfi.entity.js";
import { Referral, ReferralEvent } from "./referral.entity.js";
import { OrderDirection, ReferralOrderField, type ReferralConnection, type ReferralFilter, type ReferralOrder } from "./referral.inputs.js";

interface SortKey {
  column: string;
  nullable: boolean;
  /** The cursor's form of a row's value. */
  valueOf: (referral: Referral) => string | null;
  /** The cursor's value as a query parameter; undefined when it is not of this key's form. */
  parse: (value: string) => string | Date | undefined;
}

const instant = (date: Date | null) => (date === null ? null : date.toISOString());
const parseInstant = (value: string) => {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
};
const matching = (form: RegExp) => (value: string) => (form.test(value) ? value : undefined);

const SORT_KEYS: Record<ReferralOrderField, SortKey> = {
  RECEIVED_AT: { column: "r.received_at", nullable: false, valueOf: (r) => instant(r.receivedAt), parse: parseInstant },
  UPDATED_AT: { column: "r.updated_at", nullable: false, valueOf: (r) => instant(r.updatedAt), parse: parseInstant },
  RESPOND_BY: { column: "r.respond_by", nullable: true, valueOf: (r) => instant(r.respondBy), parse: parseInstant },
  ESTIMATED_DEAL_VALUE: {
    column: "r.estimated_deal_value",
    nullable: true,
    valueOf: (r) => r.estimatedDealValue,
    parse: matching(/^\d{1,13}\.\d{2}$/),
  },
  ESTIMATED_CLOSE_DATE: {
    column: "r.estimated_close_date",
    nullable: true,
    valueOf: (r) => r.estimatedCloseDate,
    parse: matching(/^\d{4}-\d{2}-\d{2}$/),
  },
  FIT_SCORE: { column: "r.fit_score", nullable: true, valueOf: (r) => r.fitScore, parse: matching(/^[01]\.\d{4}$/) },
};

const DEFAULT_ORDER: ReferralOrder = { field: ReferralOrderField.RECEIVED_AT, direction: OrderDirection.DESC };

/** A position in one ordering: the sort value and id of the last row seen. */
type Cursor = [field: ReferralOrderField, direction: OrderDirection, value: string | null, id: string];

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function isCursor(value: unknown): value is Cursor {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    (typeof value[2] === "string" || value[2] === null) &&
    typeof value[3] === "string" &&
    isRowId(value[3])
  );
}

function decodeCursor(text: string, order: ReferralOrder): Cursor {
  let cursor: unknown;
  try {
    cursor = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    cursor = undefined;
  }
  if (!isCursor(cursor)) throw badInput("after", "is not a cursor this API gave out");
  if (cursor[0] !== order.field || cursor[1] !== order.direction) {
    throw badInput("after", `was given for orderBy ${cursor[0]} ${cursor[1]}, not ${order.field} ${order.direction}`);
  }
  return cursor;
}

export interface PageRequest {
  filter?: ReferralFilter | null;
  orderBy?: ReferralOrder | null;
  first?: number | null;
  after?: string | null;
  /** Read the page's events with it (one more statement, instead of one when the first is asked for). */
  withEvents?: boolean;
  /** Count the matching referrals in the page's own statement, not after it. */
  withTotal?: boolean;
}

/** The column that carries the page's count (PageRequest.withTotal). */
const TOTAL = "page_total";

/** A WHERE clause being built: conditions joined by AND, and their parameters in order. */
interface Conditions {
  sql: string[];
  parameters: unknown[];
}

const where = ({ sql }: Conditions) => (sql.length === 0 ? "" : `WHERE ${sql.join(" AND ")}`);

/** Reading referrals as a caller may: a PARTNER key only ever sees its own partner's. */
export class ReferralFinder {
  private readonly rows: EntityRows<Referral>;
  private readonly rfis: EntityRows<Rfi>;
  private readonly partners: EntityRows<Partner>;
  private readonly events: EntityRows<ReferralEvent>;

  private readonly db: Queryable;

  constructor(db: DataSource) {
    this.db = poolReader(db);
    this.rows = new EntityRows(db, Referral);
    this.rfis = new EntityRows(db, Rfi);
    this.partners = new EntityRows(db, Partner);
    this.events = new EntityRows(db, ReferralEvent);
  }

  /** The referral, or null when it does not exist or is not the caller's to see (indistinguishable). */
  async findVisible(caller: Caller, id: string): Promise<Referral | null> {
    if (!isRowId(id)) return null;
    const scope = partnerScope(caller);
    const [found] = await this.rows.select(
      this.db,
      "r",
      scope === undefined ? "WHERE r.id = ?" : "WHERE r.id = ? AND r.partner_id = ?",
      scope === undefined ? [id] : [id, scope],
    );
    return found ?? null;
  }

  /**
   * A page in a stable order: the sort field, then id in the same direction, empty values last. The
   * cursor carries the last row's value and id, so rows with equal values are neither lost nor repeated.
   */
  async page(caller: Caller, request: PageRequest): Promise<ReferralConnection> {
    const order = request.orderBy ?? DEFAULT_ORDER;
    const sort = SORT_KEYS[order.field];
    const size = requestedPageSize(request.first);

    const filtered = this.filtered(caller, request.filter);
    if (filtered === undefined) {
      return {
        edges: [],
        pageInfo: { hasNextPage: false, endCursor: null },
        related: { rfis: [], partners: [], events: new Map() },
        countAll: async () => 0,
      };
    }
    const conditions = { sql: [...filtered.sql], parameters: [...filtered.parameters] };
    if (request.after) this.startAfter(conditions, sort, order.direction, decodeCursor(request.after, order));
    const direction = order.direction === OrderDirection.ASC ? "ASC" : "DESC";
    const orderBy = `${sort.nullable ? `${sort.column} IS NULL, ` : ""}${sort.column} ${direction}, r.id ${direction}`;
    // The count rides along as a subquery, run once for the statement (it names no outer column): one
    // statement and one round trip where two would take two connections.
    const total = request.withTotal ? `, (SELECT COUNT(*) FROM referrals r ${where(filtered)}) AS ${TOTAL}` : "";
    // With each referral's RFI and partner: what a page shows of them costs no further query.
    const raw: Record<string, unknown>[] = await this.db.query(
      `SELECT ${this.rows.selectList("r")}, ${this.rfis.selectList("f")}, ${this.partners.selectList("p")}${total}
       FROM referrals r JOIN rfis f ON f.id = r.rfi_id JOIN partners p ON p.id = r.partner_id
       ${where(conditions)} ORDER BY ${orderBy} LIMIT ?`,
      [...(request.withTotal ? filtered.parameters : []), ...conditions.parameters, size + 1],
    );
    const found = this.rows.map(raw, "r");

    const edges = found.slice(0, size).map((node) => ({
      node,
      cursor: encodeCursor([order.field, order.direction, sort.valueOf(node), node.id]),
    }));
    const shown = raw.slice(0, size);
    const events = new Map<string, ReferralEvent[]>(edges.map(({ node }) => [node.id, []]));
    if (request.withEvents && edges.length > 0) {
      const rows = await this.events.select(this.db, "t", "WHERE t.referral_id IN (?) ORDER BY t.id", [[...events.keys()]]);
      for (const event of rows) events.get(event.referralId)!.push(event);
    }
    return {
      edges,
      pageInfo: { hasNextPage: found.length > size, endCursor: edges.at(-1)?.cursor ?? null },
      related: {
        rfis: this.rfis.map(shown, "f"),
        partners: this.partners.map(shown, "p"),
        events: request.withEvents ? events : new Map(),
      },
      // A page past the end has no row to carry the count.
      countAll: async () => (raw.length > 0 && raw[0][TOTAL] !== undefined ? Number(raw[0][TOTAL]) : this.count(filtered)),
    };
  }

  private async count(filtered: Conditions): Promise<number> {
    const [{ total }] = await this.db.query(`SELECT COUNT(*) AS total FROM referrals r ${where(filtered)}`, filtered.parameters);
    return Number(total);
  }

  /** The caller's scope and the filter as conditions; undefined when they cannot match anything. */
  private filtered(caller: Caller, filter: ReferralFilter | null | undefined): Conditions | undefined {
    const conditions: Conditions = { sql: [], parameters: [] };
    const and = (sql: string, ...parameters: unknown[]) => {
      conditions.sql.push(sql);
      conditions.parameters.push(...parameters);
    };
    const scope = partnerScope(caller);
    if (scope !== undefined) and("r.partner_id = ?", scope);
    if (!filter) return conditions;

    if (filter.partnerId != null) {
      if (!isRowId(filter.partnerId) || (scope !== undefined && scope !== filter.partnerId)) return undefined;
      and("r.partner_id = ?", filter.partnerId);
    }
    let statuses: ReferralStatus[] | undefined = filter.statuses ?? undefined;
    if (filter.stage != null) {
      const inStage = statusesInStage(filter.stage);
      statuses = statuses === undefined ? inStage : statuses.filter((status) => inStage.includes(status));
    }
    if (statuses !== undefined) {
      if (statuses.length === 0) return undefined;
      and("r.status IN (?)", statuses);
    }
    if (filter.region != null) and("r.region = ?", filter.region);
    if (filter.receivedAfter != null) and("r.received_at >= ?", filter.receivedAfter);
    if (filter.receivedBefore != null) and("r.received_at < ?", filter.receivedBefore);
    if (filter.updatedAfter != null) and("r.updated_at >= ?", filter.updatedAfter);
    return conditions;
  }

  /** Rows strictly after the cursor in (value, id) order, with empty values after every value. */
  private startAfter(conditions: Conditions, sort: SortKey, direction: OrderDirection, cursor: Cursor): void {
    const [, , value, id] = cursor;
    const beyond = direction === OrderDirection.ASC ? ">" : "<";
    const column = sort.column;
    if (value === null) {
      conditions.sql.push(`(${column} IS NULL AND r.id ${beyond} ?)`);
      conditions.parameters.push(id);
      return;
    }
    const cursorValue = sort.parse(value);
    if (cursorValue === undefined) throw badInput("after", "is not a cursor this API gave out");
    conditions.sql.push(`(${column} ${beyond} ? OR (${column} = ? AND r.id ${beyond} ?)${sort.nullable ? ` OR ${column} IS NULL` : ""})`);
    conditions.parameters.push(cursorValue, cursorValue, id);
  }
}
