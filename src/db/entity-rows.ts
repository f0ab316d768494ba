import type { DataSource, EntityManager } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata.js";

export type Queryable = Pick<EntityManager, "query">;
type Row = Record<string, unknown>;

/** Column types whose values mysql2 already gives in the entity's form (strings, numbers, UTC dates). */
const AS_READ = new Set(["varchar", "char", "text", "int", "bigint", "decimal", "datetime"]);

/**
 * One entity's rows read with plain SQL and turned into entities by a function compiled once per
 * alias, with the driver's own conversions where a value needs one: TypeORM's general hydration
 * (relations, grouping, eager loading) costs more than the query itself on the hot paths (pages of
 * referrals, batches of thousands).
 */
export class EntityRows<T extends object> {
  private readonly columns: ColumnMetadata[];
  private readonly table: string;
  private readonly mappers = new Map<string, (row: Row) => T>();
  /** What `insert` writes (every column but a generated key) and what it fills in from the insert's id. */
  private readonly inserts: { written: ColumnMetadata[]; generated: ColumnMetadata[]; insertSql: string };

  constructor(
    private readonly db: DataSource,
    private readonly entity: new () => T,
  ) {
    const metadata = db.getMetadata(entity);
    this.columns = metadata.columns;
    this.table = metadata.tableName;
    const written = this.columns.filter((column) => !column.isGenerated);
    const names = written.map((column) => `\`${column.databaseName}\``).join(", ");
    this.inserts = {
      written,
      generated: this.columns.filter((column) => column.isGenerated),
      insertSql: `INSERT INTO \`${this.table}\` (${names}) VALUES ?`,
    };
  }

  /** The SELECT list for the entity's table under `alias`: every column, named `<alias>.<property>` (joins keep apart). */
  selectList(alias: string): string {
    return this.columns.map((column) => `${alias}.${column.databaseName} AS \`${alias}.${column.propertyName}\``).join(", ");
  }

  /** `SELECT <every column> FROM <table> <alias> <rest>`, as entities. */
  async select(q: Queryable, alias: string, rest: string, parameters: unknown[]): Promise<T[]> {
    return this.map(await q.query(`SELECT ${this.selectList(alias)} FROM ${this.table} ${alias} ${rest}`, parameters), alias);
  }

  /**
   * Inserts one row (every column but a generated key; absent values are NULL) and answers it as the
   * entity a read would give, its generated key a string: no read back, no TypeORM persistence.
   */
  async insert(q: Queryable, values: Partial<T>): Promise<T> {
    const [entity] = await this.insertAll(q, [values]);
    return entity;
  }

  /**
   * Inserts the rows in one statement, their keys numbered from the first one the statement was
   * given: a multi-row INSERT … VALUES takes consecutive AUTO_INCREMENT values under every
   * innodb_autoinc_lock_mode (openDatabase refuses a server whose auto_increment_increment is not 1).
   */
  async insertAll(q: Queryable, values: readonly Partial<T>[]): Promise<T[]> {
    if (values.length === 0) return [];
    const { written, generated, insertSql } = this.inserts;
    const rows = values.map((given: Row) =>
      written.map((column) => {
        const value = given[column.propertyName] ?? null;
        return value === null || AS_READ.has(String(column.type)) ? value : this.db.driver.preparePersistentValue(value, column);
      }),
    );
    const { insertId } = await q.query(insertSql, [rows]);
    return values.map((given: Row, index) => {
      const entity = new this.entity() as Row;
      for (const column of written) entity[column.propertyName] = given[column.propertyName] ?? null;
      for (const column of generated) entity[column.propertyName] = String(BigInt(insertId) + BigInt(index));
      return entity as T;
    });
  }

  /** Rows selected with `selectList(alias)` (maybe beside other tables' columns), as entities. */
  map(rows: Row[], alias: string): T[] {
    let mapper = this.mappers.get(alias);
    if (!mapper) {
      mapper = this.compile(alias);
      this.mappers.set(alias, mapper);
    }
    return rows.map(mapper);
  }

  /** A mapper with every property name written out, so each read and write is a plain property access. */
  private compile(alias: string): (row: Row) => T {
    const { driver } = this.db;
    const convert = this.columns.map((column) =>
      AS_READ.has(String(column.type)) ? null : (value: unknown) => driver.prepareHydratedValue(value, column),
    );
    const assignments = this.columns.map((column, index) => {
      const value = `row[${JSON.stringify(`${alias}.${column.propertyName}`)}]`;
      return `entity[${JSON.stringify(column.propertyName)}] = ${convert[index] ? `convert[${index}](${value})` : value};`;
    });
    return new Function("Entity", "convert", `return (row) => { const entity = new Entity(); ${assignments.join(" ")} return entity; };`)(
      this.entity,
      convert,
    ) as (row: Row) => T;
  }
}
