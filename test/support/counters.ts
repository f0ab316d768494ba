import { expect } from "chai";
import type { DataSource } from "typeorm";
import { recountCounters } from "../../src/analytics/history-counters.js";

export interface CounterRow {
  partnerId: string;
  kind: string;
  value: string;
  total: number;
  hits: number;
}

export const COUNTERS = `SELECT CAST(partner_id AS CHAR) AS partnerId, kind, value, total, hits FROM partner_counters
                  ORDER BY partner_id, kind, value`;

export const normalised = (rows: CounterRow[]) => rows.map((row) => ({ ...row, total: Number(row.total), hits: Number(row.hits) }));

/** The counters as a set-based recount from the rows would leave them (in a transaction rolled back). */
export async function recounted(db: DataSource): Promise<CounterRow[]> {
  const runner = db.createQueryRunner();
  await runner.startTransaction();
  try {
    await recountCounters(runner.manager);
    return normalised(await runner.query(COUNTERS));
  } finally {
    await runner.rollbackTransaction();
    await runner.release();
  }
}

/** The partners' counters, as kept, equal a recount from the rows. */
export async function countersMatchRows(db: DataSource): Promise<void> {
  expect(normalised(await db.query(COUNTERS))).to.deep.equal(await recounted(db));
}
