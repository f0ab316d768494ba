import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";

/**
 * A kind of per-request loader: how one request's loader of this kind is made. Features define
 * their kinds (partner.loaders.ts, …); a request makes each kind the first time a field asks for it.
 */
export type LoaderKind<L> = (db: DataSource) => L;

/** Per-request batching: a page of referrals costs one query per related table, whatever its size. */
export class Loaders {
  private readonly made = new Map<LoaderKind<unknown>, unknown>();

  constructor(private readonly db: DataSource) {}

  /** This request's loader of `kind`, made when first used: most requests need one or two. */
  of<L>(kind: LoaderKind<L>): L {
    let loader = this.made.get(kind) as L | undefined;
    if (loader === undefined) this.made.set(kind, (loader = kind(this.db)));
    return loader;
  }
}

export function createLoaders(db: DataSource): Loaders {
  return new Loaders(db);
}

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

/** Reads an entity's rows with plain SQL, straight through the pool: made once per data source. */
function rowsReader<T extends object>(entity: new () => T): (db: DataSource) => { rows: EntityRows<T>; reader: Queryable } {
  const made = new WeakMap<DataSource, { rows: EntityRows<T>; reader: Queryable }>();
  return (db) => {
    let found = made.get(db);
    if (!found) made.set(db, (found = { rows: new EntityRows(db, entity), reader: poolReader(db) }));
    return found;
  };
}

/** A loader kind of an entity by its id. */
export function byId<T extends { id: string }>(entity: new () => T): LoaderKind<CachedLoader<T | undefined>> {
  const sourceOf = rowsReader(entity);
  return (db) => {
    const { rows, reader } = sourceOf(db);
    return new CachedLoader(async (ids) => {
      const found = new Map((await rows.select(reader, "t", "WHERE t.id IN (?)", [ids])).map((row) => [row.id, row]));
      return ids.map((id) => found.get(id));
    });
  };
}

/** A loader kind of an entity's rows by the value of one column (`column`, read back by `keyOf`), in id order. */
export function groupedBy<T extends object>(entity: new () => T, column: string, keyOf: (row: T) => string): LoaderKind<CachedLoader<T[]>> {
  const sourceOf = rowsReader(entity);
  return (db) => {
    const { rows, reader } = sourceOf(db);
    return new CachedLoader(async (keys) => {
      const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
      for (const row of await rows.select(reader, "t", `WHERE t.${column} IN (?) ORDER BY t.id`, [keys])) groups.get(keyOf(row))?.push(row);
      return keys.map((key) => groups.get(key)!);
    });
  };
}
