import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { responsivenessOf } from "../analytics/responsiveness.js";
import { EntityRows } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";
import type { Responsiveness } from "../analytics/stats.types.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { ReferralEvent } from "../referrals/referral.entity.js";
import { Rfi } from "../rfis/rfi.entity.js";

/** Per-request batching: a page of referrals costs one query per related table, whatever its size. */
export interface Loaders {
  partner: RowLoader<Partner>;
  profile: RowLoader<MarketingProfile>;
  profilesOfPartner: DataLoader<string, MarketingProfile[]>;
  rfi: RowLoader<Rfi>;
  eventsOfReferral: DataLoader<string, ReferralEvent[]>;
  responsiveness: DataLoader<string, Responsiveness>;
}

type WithId = { id: string };

/**
 * Rows of one table by id, batched per tick (DataLoader). A row this request already holds (read
 * with a page, or loaded before) is answered at once, without a promise, so a field resolving from
 * it completes synchronously.
 */
export class RowLoader<T extends WithId> {
  private readonly known = new Map<string, T>();
  private readonly loader: DataLoader<string, T | undefined>;

  constructor(read: (ids: readonly string[]) => Promise<T[]>) {
    this.loader = new DataLoader(async (ids) => {
      const rows = await read(ids);
      this.prime(rows);
      return byId(rows, ids);
    });
  }

  prime(rows: readonly T[]): void {
    for (const row of rows) this.known.set(row.id, row);
  }

  /** The row: at once when known, else a promise of it (undefined when there is none). */
  get(id: string): T | Promise<T | undefined> {
    return this.known.get(id) ?? this.loader.load(id);
  }

  async load(id: string): Promise<T | undefined> {
    return this.get(id);
  }
}

/** `value`, or what a promise of it settles to, through `then`: synchronous when `value` is. */
export function whenLoaded<T, R>(value: T | Promise<T>, then: (loaded: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}

function byId<T extends WithId>(rows: T[], ids: readonly string[]): (T | undefined)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id));
}

function groupBy<T>(rows: T[], ids: readonly string[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return ids.map((id) => groups.get(id)!);
}

/** The readers of each table the loaders batch, made once per data source. */
const readers = new WeakMap<DataSource, { partner: EntityRows<Partner>; profile: EntityRows<MarketingProfile>; rfi: EntityRows<Rfi>; event: EntityRows<ReferralEvent> }>();

function readersOf(db: DataSource) {
  let found = readers.get(db);
  if (!found) {
    found = {
      partner: new EntityRows(db, Partner),
      profile: new EntityRows(db, MarketingProfile),
      rfi: new EntityRows(db, Rfi),
      event: new EntityRows(db, ReferralEvent),
    };
    readers.set(db, found);
  }
  return found;
}

export function createLoaders(dataSource: DataSource): Loaders {
  const read = readersOf(dataSource);
  const db = poolReader(dataSource);
  const byIds = <T extends WithId>(rows: EntityRows<T>) => new RowLoader<T>((ids) => rows.select(db, "t", "WHERE t.id IN (?)", [ids]));
  return {
    partner: byIds(read.partner),
    profile: byIds(read.profile),
    rfi: byIds(read.rfi),
    profilesOfPartner: new DataLoader(async (partnerIds) => {
      const profiles = await read.profile.select(db, "t", "WHERE t.partner_id IN (?) ORDER BY t.id", [partnerIds]);
      return groupBy(profiles, partnerIds, (profile) => profile.partnerId);
    }),
    eventsOfReferral: new DataLoader(async (referralIds) => {
      const events = await read.event.select(db, "t", "WHERE t.referral_id IN (?) ORDER BY t.id", [referralIds]);
      return groupBy(events, referralIds, (event) => event.referralId);
    }),
    responsiveness: new DataLoader(async (partnerIds) => {
      const found = await responsivenessOf(dataSource, partnerIds);
      return partnerIds.map((id) => found.get(id)!);
    }),
  };
}
