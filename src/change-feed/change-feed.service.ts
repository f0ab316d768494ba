import type { DataSource } from "typeorm";
import { partnerScope, type Caller } from "../graphql/caller.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { Referral } from "../referrals/index.js";
import { tagged } from "../db/background.js";
import { poolReader } from "../db/pool.js";
import { badInput } from "../graphql/errors.js";
import type { ReferralAction, ReferralStatus } from "../referrals/lifecycle.js";
import type { ReferralChange, ReferralChangeConnection } from "./change-feed.types.js";
import { decodeCursor, encodeCursor, type Position } from "./position.js";

export const DEFAULT_CHANGES = 100;
export const MAX_CHANGES = 500;

interface ChangeRow {
  /** The referral as it is now, read with the change. */
  referral: Referral;
  id: string;
  batch: number;
  referralId: string;
  partnerId: string;
  action: ReferralAction;
  at: Date;
  from: ReferralStatus | null;
  to: ReferralStatus;
  version: number;
}

/** A change's row as read, its referral's columns beside it. */
type ChangeColumns = Omit<ChangeRow, "referral"> & Record<string, unknown>;

/** Which changes a read takes: one partner's (undefined: every partner's), after a position, up to a batch. */
export interface ChangeRange {
  partnerId: string | undefined;
  after: Position | undefined;
  /** The last batch to include; every batch when absent. */
  throughBatch?: number;
  limit: number;
}

export function changeOf(row: ChangeRow): ReferralChange {
  const position = { batch: Number(row.batch), id: row.id };
  return {
    cursor: encodeCursor(position),
    position,
    at: row.at,
    action: row.action,
    from: row.from,
    to: row.to,
    version: row.version,
    referralId: row.referralId,
    partnerId: row.partnerId,
    referral: row.referral,
  } as ReferralChange;
}

/**
 * Committed referral changes in commit order, from the events the sequencer has placed
 * (sequencer.ts). An event not yet placed is not read: it gets a batch after every batch already
 * read, so a reader that keeps its last cursor never skips it.
 */
export class ChangeFeedService {
  private readonly db: Queryable;
  private readonly referrals: EntityRows<Referral>;

  /** `loop`: the background loop that reads through this instance, named in its statements. */
  private readonly selectChanges: string;

  constructor(dataSource: DataSource, loop?: string) {
    this.db = loop === undefined ? poolReader(dataSource) : tagged(poolReader(dataSource), loop);
    this.referrals = new EntityRows(dataSource, Referral);
    this.selectChanges = `SELECT CAST(e.id AS CHAR) AS id, e.feed_batch AS batch, CAST(e.referral_id AS CHAR) AS referralId,
              CAST(e.partner_id AS CHAR) AS partnerId, e.action, e.at, e.from_status AS \`from\`, e.to_status AS \`to\`, e.version,
              ${this.referrals.selectList("r")}
       FROM referral_events e JOIN referrals r ON r.id = e.referral_id`;
  }

  async page(caller: Caller, after: string | null | undefined, first: number | null | undefined): Promise<ReferralChangeConnection> {
    if (first != null && (first < 0 || first > MAX_CHANGES)) throw badInput("first", `must be from 0 to ${MAX_CHANGES} (got ${first})`);
    const size = first ?? DEFAULT_CHANGES;
    const from = after ? decodeCursor(after) : undefined;
    const found = await this.read({ partnerId: partnerScope(caller), after: from, limit: size + 1 });
    const edges = found.slice(0, size).map((node) => ({ cursor: node.cursor, node }));
    return { edges, pageInfo: { hasNextPage: found.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /** The last batch committed: every change up to it can be read. */
  async lastBatch(): Promise<number> {
    const [{ last }] = await this.db.query("SELECT last_batch AS last FROM feed_sequence WHERE id = 1", []);
    return Number(last);
  }

  /** Changes in the range, oldest first: one range read of an index, whatever the table's size. */
  async read(range: ChangeRange): Promise<ReferralChange[]> {
    const conditions: string[] = [];
    const parameters: unknown[] = [];
    if (range.partnerId !== undefined) {
      conditions.push("e.partner_id = ?");
      parameters.push(range.partnerId);
    }
    if (range.after) {
      conditions.push("(e.feed_batch > ? OR (e.feed_batch = ? AND e.id > ?))");
      parameters.push(range.after.batch, range.after.batch, range.after.id);
    } else {
      conditions.push("e.feed_batch IS NOT NULL");
    }
    if (range.throughBatch !== undefined) {
      conditions.push("e.feed_batch <= ?");
      parameters.push(range.throughBatch);
    }
    const rows: ChangeColumns[] = await this.db.query(
      `${this.selectChanges} WHERE ${conditions.join(" AND ")} ORDER BY e.feed_batch, e.id LIMIT ?`,
      [...parameters, range.limit],
    );
    return this.changesFrom(rows);
  }

  /**
   * The statement that reads the changes of the events a batch places, by their ids, in the sequencer's
   * transaction once they are marked: the placing instance hands them to its live stream instead of
   * reading them back after the commit.
   */
  placedChanges(eventIds: readonly string[]): [sql: string, parameters: unknown[]] {
    return [`${this.selectChanges} WHERE e.id IN (?) ORDER BY e.id`, [eventIds]];
  }

  /** Rows read with `selectChanges` (or `placedChanges`), as changes. */
  changesFrom(rows: ChangeColumns[]): ReferralChange[] {
    const referrals = this.referrals.map(rows, "r");
    return rows.map((row, index) => changeOf({ ...row, referral: referrals[index] }));
  }
}
