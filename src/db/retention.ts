import type { Queryable } from "./entity-rows.js";

const BATCH = 5000;

/** A table whose finished rows are deleted once older than a retention period. */
export interface RetainedTable {
  table: string;
  /** Which rows are finished (an SQL condition with `?` parameters); every row when absent. */
  finished?: { sql: string; parameters: unknown[] };
}

/**
 * Deletes the finished rows of `table` created before `cutoff`, a batch at a time: each DELETE is a
 * short statement of its own over a primary-key range, so the table stops growing without a long
 * lock. The range ends at the first row created at or after the cutoff (ids grow with created_at),
 * found by one short walk of the old rows that remain: after the first run, only unfinished ones. A
 * row inserted out of that order (clocks of instances a little apart) waits until the rows before it
 * are old too: a later run takes it.
 */
export async function deleteOlderThan(
  q: Queryable,
  { table, finished }: RetainedTable,
  cutoff: Date,
  { batch = BATCH, afterBatch }: { batch?: number; afterBatch?: () => Promise<unknown> } = {},
): Promise<number> {
  const [first] = await q.query(`SELECT id FROM ${table} WHERE created_at >= ? ORDER BY id LIMIT 1`, [cutoff]);
  const conditions = ["created_at < ?", ...(first ? ["id < ?"] : []), ...(finished ? [`(${finished.sql})`] : [])];
  const parameters = [cutoff, ...(first ? [first.id] : []), ...(finished?.parameters ?? [])];
  let deleted = 0;
  for (;;) {
    const result = await q.query(`DELETE FROM ${table} WHERE ${conditions.join(" AND ")} ORDER BY id LIMIT ${batch}`, parameters);
    deleted += result.affectedRows;
    if (result.affectedRows < batch) return deleted;
    await afterBatch?.();
  }
}
