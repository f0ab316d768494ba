import { E_TIMEOUT, Semaphore, withTimeout, type SemaphoreInterface } from "async-mutex";
import type { DataSource } from "typeorm";
import { partnerScope, type Caller } from "../graphql/caller.js";
import type { StatsConfig } from "../config/index.js";
import { isRowId } from "../db/ids.js";
import { serviceUnavailable } from "../graphql/errors.js";
import type { CloseDateStats, DealSizeStats, StatsFilter, StatsKey } from "./stats.types.js";
import { StatsDimension } from "./stats.types.js";

/** Each dimension as an SQL expression over `referrals r` (instants are stored in UTC). */
const DIMENSIONS: Record<StatsDimension, string> = {
  MONTH: "DATE_FORMAT(r.received_at, '%Y-%m')",
  QUARTER: "CONCAT(YEAR(r.received_at), '-Q', QUARTER(r.received_at))",
  CLOSE_MONTH: "DATE_FORMAT(r.deal_close_date, '%Y-%m')",
  REGION: "r.region",
  PARTNER: "CAST(r.partner_id AS CHAR)",
  STATUS: "r.status",
  COMPANY_SIZE: "r.company_size",
  INDUSTRY: "COALESCE(r.industry, '')",
  REASON_CODE: "COALESCE(r.reason_code, '')",
};

/**
 * Window functions sort each group's values for the nearest-rank quantiles; with the servers' small
 * default buffers, a million rows spill to disk. These are session values, reset after each query.
 */
const SORT_BUFFER_BYTES = 64 * 1024 * 1024;
const TEMP_TABLE_BYTES = 256 * 1024 * 1024;

interface Query {
  sql: string;
  parameters: unknown[];
}

type Row = Record<string, string | number | null>;

/**
 * Deal-size and close-date statistics, computed in SQL that runs on MySQL 8.4 and MariaDB 10.11
 * (window functions, no PERCENTILE_CONT or MEDIAN). Quantiles use the nearest-rank method: the
 * value at rank ceil(p × count) in ascending order.
 */
export class StatsService {
  /** Turns to run a statement: at most `concurrency` at once, however many a request or its aliases ask for. */
  private readonly turns: SemaphoreInterface;

  constructor(
    private readonly db: DataSource,
    private readonly config: StatsConfig,
  ) {
    this.turns = withTimeout(new Semaphore(config.concurrency), config.waitTimeoutMs);
  }

  async dealSizes(caller: Caller, filter: StatsFilter | null | undefined, groupBy: StatsDimension[] | null | undefined) {
    const dimensions = distinct(groupBy);
    const query = dealSizeQuery(caller, filter, dimensions);
    if (query === undefined) return [];
    const rows = await this.run(query);
    return rows.map(
      (row): DealSizeStats => ({
        key: keyOf(dimensions, row),
        currency: String(row.currency),
        count: Number(row.count),
        total: String(row.total),
        average: averageOf(String(row.total), Number(row.count)),
        min: String(row.min),
        median: String(row.median),
        p90: String(row.p90),
        max: String(row.max),
      }),
    );
  }

  async closeDates(caller: Caller, filter: StatsFilter | null | undefined, groupBy: StatsDimension[] | null | undefined) {
    const dimensions = distinct(groupBy);
    const query = closeDateQuery(caller, filter, dimensions);
    if (query === undefined) return [];
    const rows = await this.run(query);
    // Without groupBy, an aggregate answers one row even when nothing matched.
    return rows
      .filter((row) => Number(row.count) > 0)
      .map(
        (row): CloseDateStats => ({
          key: keyOf(dimensions, row),
          count: Number(row.count),
          earliest: String(row.earliest),
          latest: String(row.latest),
          averageDaysToClose: Number(row.total_days) / Number(row.count),
          medianDaysToClose: Number(row.median_days),
          averageSlipDays: Number(row.won) === 0 ? null : Number(row.total_slip) / Number(row.won),
        }),
      );
  }

  private async run(query: Query): Promise<Row[]> {
    try {
      return await this.turns.runExclusive(() => this.runNow(query));
    } catch (error) {
      if (error !== E_TIMEOUT) throw error;
      throw serviceUnavailable(`statistics are busy: no turn came within ${this.config.waitTimeoutMs} ms; retry shortly`);
    }
  }

  private async runNow({ sql, parameters }: Query): Promise<Row[]> {
    const runner = this.db.createQueryRunner();
    try {
      await runner.query(
        `SET SESSION sort_buffer_size = ${SORT_BUFFER_BYTES}, SESSION tmp_table_size = ${TEMP_TABLE_BYTES}, SESSION max_heap_table_size = ${TEMP_TABLE_BYTES}`,
      );
      try {
        return await runner.query(sql, parameters);
      } finally {
        await runner.query(
          "SET SESSION sort_buffer_size = DEFAULT, SESSION tmp_table_size = DEFAULT, SESSION max_heap_table_size = DEFAULT",
        );
      }
    } finally {
      await runner.release();
    }
  }
}

function distinct(groupBy: StatsDimension[] | null | undefined): StatsDimension[] {
  return [...new Set(groupBy ?? [])];
}

function keyOf(dimensions: StatsDimension[], row: Row): StatsKey[] {
  return dimensions.map((dimension, index) => ({ dimension, value: String(row[`k${index}`] ?? "") }));
}

/** The mean of exact amounts, rounded half-up to cents, in integer arithmetic (no float ever sees money). */
export function averageOf(total: string, count: number): string {
  const [units, fraction = ""] = total.split(".");
  const cents = BigInt(units + fraction.padEnd(2, "0").slice(0, 2));
  const n = BigInt(count);
  const average = (cents * 2n + n) / (2n * n);
  return `${average / 100n}.${(average % 100n).toString().padStart(2, "0")}`;
}

/** WHERE conditions for the filter and the caller's scope; undefined when nothing can match. */
function conditions(caller: Caller, filter: StatsFilter | null | undefined): Query | undefined {
  const where: string[] = [];
  const parameters: unknown[] = [];
  const scope = partnerScope(caller);
  if (scope !== undefined) {
    where.push("r.partner_id = ?");
    parameters.push(scope);
  }
  if (filter?.partnerIds != null) {
    const ids = filter.partnerIds.filter(isRowId).filter((id) => scope === undefined || id === scope);
    if (ids.length === 0) return undefined;
    where.push("r.partner_id IN (?)");
    parameters.push(ids);
  }
  if (filter?.regions != null) {
    if (filter.regions.length === 0) return undefined;
    where.push("r.region IN (?)");
    parameters.push(filter.regions);
  }
  if (filter?.statuses != null) {
    if (filter.statuses.length === 0) return undefined;
    where.push("r.status IN (?)");
    parameters.push(filter.statuses);
  }
  if (filter?.receivedAfter != null) {
    where.push("r.received_at >= ?");
    parameters.push(filter.receivedAfter);
  }
  if (filter?.receivedBefore != null) {
    where.push("r.received_at < ?");
    parameters.push(filter.receivedBefore);
  }
  return { sql: where.map((condition) => ` AND ${condition}`).join(""), parameters };
}

function keyColumns(dimensions: StatsDimension[]): { select: string; names: string[] } {
  const names = dimensions.map((_, index) => `k${index}`);
  return { select: dimensions.map((dimension, index) => `${DIMENSIONS[dimension]} AS k${index}`).join(", "), names };
}

/**
 * One row per combination of the dimensions and currency: count, total, min, max, median, p90. The
 * benchmark sends the same statement straight through mysql2.
 */
export function dealSizeQuery(caller: Caller, filter: StatsFilter | null | undefined, dimensions: StatsDimension[]): Query | undefined {
  const where = conditions(caller, filter);
  if (where === undefined) return undefined;
  const { select, names } = keyColumns(dimensions);
  const group = [...names, "currency"].join(", ");
  const partition = [...dimensions.map((dimension) => DIMENSIONS[dimension]), "r.deal_currency"].join(", ");
  return {
    sql: `
      SELECT ${group}, COUNT(*) AS count, SUM(value) AS total, MIN(value) AS min, MAX(value) AS max,
        MAX(CASE WHEN rn = CEIL(0.5 * n) THEN value END) AS median,
        MAX(CASE WHEN rn = CEIL(0.9 * n) THEN value END) AS p90
      FROM (
        SELECT ${select ? `${select}, ` : ""}r.deal_currency AS currency, r.deal_value AS value,
          ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY r.deal_value) AS rn,
          COUNT(*) OVER (PARTITION BY ${partition}) AS n
        FROM referrals r
        WHERE r.deal_value IS NOT NULL${where.sql}
      ) ranked
      GROUP BY ${group}
      ORDER BY ${group}`,
    parameters: where.parameters,
  };
}

/**
 * One row per combination of the dimensions: how many, earliest and latest close date, the total and
 * nearest-rank median of days from arrival to close, and for WON referrals the total slip of the
 * final close date against the estimate given at acceptance.
 */
function closeDateQuery(caller: Caller, filter: StatsFilter | null | undefined, dimensions: StatsDimension[]): Query | undefined {
  const where = conditions(caller, filter);
  if (where === undefined) return undefined;
  const { select, names } = keyColumns(dimensions);
  const partition = dimensions.length > 0 ? `PARTITION BY ${dimensions.map((dimension) => DIMENSIONS[dimension]).join(", ")} ` : "";
  const days = "DATEDIFF(r.deal_close_date, r.received_at)";
  const grouping = names.length > 0 ? `GROUP BY ${names.join(", ")} ORDER BY ${names.join(", ")}` : "";
  return {
    sql: `
      SELECT ${names.length > 0 ? `${names.join(", ")}, ` : ""}COUNT(*) AS count,
        DATE_FORMAT(MIN(close_date), '%Y-%m-%d') AS earliest, DATE_FORMAT(MAX(close_date), '%Y-%m-%d') AS latest,
        SUM(days) AS total_days, MAX(CASE WHEN rn = CEIL(0.5 * n) THEN days END) AS median_days,
        COUNT(slip) AS won, SUM(slip) AS total_slip
      FROM (
        SELECT ${select ? `${select}, ` : ""}r.deal_close_date AS close_date, ${days} AS days,
          CASE WHEN r.status = 'WON' THEN DATEDIFF(r.final_close_date, r.accepted_close_date) END AS slip,
          ROW_NUMBER() OVER (${partition}ORDER BY ${days}) AS rn,
          COUNT(*) OVER (${partition.trim()}) AS n
        FROM referrals r
        WHERE r.deal_close_date IS NOT NULL${where.sql}
      ) ranked
      ${grouping}`,
    parameters: where.parameters,
  };
}
