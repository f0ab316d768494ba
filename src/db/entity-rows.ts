import type { DataSource } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata.js";

/**
 * One entity's rows read with plain SQL and turned into entities column by column, with the
 * driver's own conversions: TypeORM's general hydration (relations, grouping, eager loading) costs
 * more than the query itself when thousands of rows come back.
 */
export class EntityRows<T extends object> {
  private readonly columns: ColumnMetadata[];

  constructor(
    private readonly db: DataSource,
    private readonly entity: new () => T,
  ) {
    this.columns = db.getMetadata(entity).columns;
  }

  /** The SELECT list for the entity's table under `alias`: every column, named by its property. */
  selectList(alias: string): string {
    return this.columns.map((column) => `${alias}.${column.databaseName} AS \`${column.propertyName}\``).join(", ");
  }

  /** Rows selected with `selectList`, as entities. */
  map(rows: Record<string, unknown>[]): T[] {
    const { driver } = this.db;
    return rows.map((row) => {
      const entity = new this.entity() as Record<string, unknown>;
      for (const column of this.columns) entity[column.propertyName] = driver.prepareHydratedValue(row[column.propertyName], column);
      return entity as T;
    });
  }
}
