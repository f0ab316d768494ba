import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { responsivenessOf } from "../analytics/responsiveness.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";
import type { Responsiveness } from "../analytics/stats.types.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { Referral, ReferralEvent } from "../referrals/referral.entity.js";
import { Rfi } from "../rfis/rfi.entity.js";

/** Per-request batching: a page of referrals costs one query per related table, whatever its size. */
export interface Loaders {
  partner: CachedLoader<Partner | undefined>;
  profile: CachedLoader<MarketingProfile | undefined>;
  profilesOfPartner: DataLoader<string, MarketingProfile[]>;
  rfi: CachedLoader<Rfi | undefined>;
  referral: CachedLoader<Referral | undefined>;
  eventsOfReferral: CachedLoader<ReferralEvent[]>;
  responsiveness: DataLoader<string, Responsiveness>;
}

type WithId = { id: string };

/**
 * Values by key, batched per tick (DataLoader). A value this request already holds (read with a
 * page, or loaded before) is answered at once, without a promise, so a field resolving from it
 * completes synchronously.
 */
export class CachedLoader<V> {
  private readonly known = new Map<string, V>();
  private readonly loader: DataLoader<string, V>;

  constructor(read: (keys: readonly string[]) => Promise<V[]>) {
    this.loader = new DataLoader(async (keys) => {
      const values = await read(keys);
      for (const [index, key] of keys.entries()) this.known.set(key, values[index]);
      return values;
    });
  }

  prime(key: string, value: V): void {
    this.known.set(key, value);
  }

  /** The value: at once when known, else a promise of it. */
  get(key: string): V | Promise<V> {
    return this.known.has(key) ? this.known.get(key)! : this.loader.load(key);
  }

  async load(key: string): Promise<V> {
    return this.get(key);
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

/** What every request's loaders read with, made once per data source. */
class LoaderSources {
  readonly db: Queryable;
  readonly partners: EntityRows<Partner>;
  readonly profiles: EntityRows<MarketingProfile>;
  readonly rfis: EntityRows<Rfi>;
  readonly referrals: EntityRows<Referral>;
  readonly events: EntityRows<ReferralEvent>;

  constructor(readonly dataSource: DataSource) {
    this.db = poolReader(dataSource);
    this.partners = new EntityRows(dataSource, Partner);
    this.profiles = new EntityRows(dataSource, MarketingProfile);
    this.rfis = new EntityRows(dataSource, Rfi);
    this.referrals = new EntityRows(dataSource, Referral);
    this.events = new EntityRows(dataSource, ReferralEvent);
  }

  byIds<T extends WithId>(rows: EntityRows<T>): CachedLoader<T | undefined> {
    return new CachedLoader(async (ids) => byId(await rows.select(this.db, "t", "WHERE t.id IN (?)", [ids]), ids));
  }
}

const sources = new WeakMap<DataSource, LoaderSources>();

/** One request's loaders, each made when first used: most requests need one or two of them. */
class RequestLoaders implements Loaders {
  private readonly made: Partial<Loaders> = {};

  constructor(private readonly from: LoaderSources) {}

  get partner() {
    return (this.made.partner ??= this.from.byIds(this.from.partners));
  }

  get profile() {
    return (this.made.profile ??= this.from.byIds(this.from.profiles));
  }

  get rfi() {
    return (this.made.rfi ??= this.from.byIds(this.from.rfis));
  }

  get referral() {
    return (this.made.referral ??= this.from.byIds(this.from.referrals));
  }

  get profilesOfPartner() {
    const { db, profiles } = this.from;
    return (this.made.profilesOfPartner ??= new DataLoader(async (partnerIds) => {
      const rows = await profiles.select(db, "t", "WHERE t.partner_id IN (?) ORDER BY t.id", [partnerIds]);
      return groupBy(rows, partnerIds, (profile) => profile.partnerId);
    }));
  }

  get eventsOfReferral() {
    const { db, events } = this.from;
    return (this.made.eventsOfReferral ??= new CachedLoader(async (referralIds) => {
      const rows = await events.select(db, "t", "WHERE t.referral_id IN (?) ORDER BY t.id", [referralIds]);
      return groupBy(rows, referralIds, (event) => event.referralId);
    }));
  }

  get responsiveness() {
    const { dataSource } = this.from;
    return (this.made.responsiveness ??= new DataLoader(async (partnerIds) => {
      const found = await responsivenessOf(dataSource, partnerIds);
      return partnerIds.map((id) => found.get(id)!);
    }));
  }
}

export function createLoaders(dataSource: DataSource): Loaders {
  let from = sources.get(dataSource);
  if (!from) sources.set(dataSource, (from = new LoaderSources(dataSource)));
  return new RequestLoaders(from);
}
