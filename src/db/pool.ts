import { QueryFailedError, type DataSource } from "typeorm";
import { AppError, serviceUnavailable } from "../graphql/errors.js";

/** The size of each connection's prepared-statement cache: mysql2 preallocates its default of 16,000 slots (half a megabyte), and plain queries use none. */
export const PREPARED_STATEMENTS = 16;

/** What TypeORM's MySQL driver holds: mysql2's callback pool, with the counters it keeps. */
interface Mysql2Pool {
  getConnection(callback: (error: Error | null, connection?: { release(): void }) => void): void;
  _allConnections: { length: number };
  _freeConnections: { length: number };
  _connectionQueue: { length: number };
}

function poolOf(db: DataSource): Mysql2Pool {
  const pool = (db.driver as unknown as { pool?: Mysql2Pool }).pool;
  if (!pool) throw new Error("the data source has no connection pool (is it initialised?)");
  return pool;
}

/**
 * mysql2's pool waits for a free connection forever. Bound that wait: past `timeoutMs` the operation
 * fails with SERVICE_UNAVAILABLE (HTTP 503, Retry-After) before it has done anything, and the
 * connection it would have had, once free, goes straight back to the pool.
 */
export function boundConnectionWaits(db: DataSource, timeoutMs: number): void {
  const pool = poolOf(db);
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (callback) => {
    let answered = false;
    const timer = setTimeout(() => {
      answered = true;
      callback(serviceUnavailable(`no database connection became free within ${timeoutMs} ms; the server is busy, retry shortly`));
    }, timeoutMs);
    getConnection((error, connection) => {
      if (answered) {
        connection?.release();
        return;
      }
      answered = true;
      clearTimeout(timer);
      callback(error, connection);
    });
  };
}

export interface PoolUsage {
  inUse: number;
  idle: number;
  /** Operations waiting for a connection (some may already have given up). */
  waiting: number;
}

/** How the pool is used right now (for health, metrics and tests). */
export function poolUsage(db: DataSource): PoolUsage {
  const pool = poolOf(db);
  const idle = pool._freeConnections.length;
  return { inUse: pool._allConnections.length - idle, idle, waiting: pool._connectionQueue.length };
}

// biome-ignore lint/suspicious/noExplicitAny: rows are typed by each caller, as with TypeORM's own query().
type Queryable = { query(sql: string, parameters?: unknown[]): Promise<any> };
const readers = new WeakMap<DataSource, Queryable>();

/**
 * Reads straight through the pool, past TypeORM's query runner (which captures a stack trace and
 * runs its event broadcaster around every statement): for the read paths that run per request. The
 * same pool, so the same bounded waits; statements still go to TypeORM's logger. Not for
 * transactions: their statements go through their own entity manager.
 */
export function poolReader(db: DataSource): Queryable {
  let reader = readers.get(db);
  if (!reader) {
    const pool = poolOf(db) as unknown as {
      query(sql: string, parameters: unknown[] | undefined, callback: (error: Error | null, rows: unknown) => void): void;
    };
    reader = {
      query: (sql, parameters) =>
        new Promise((resolve, reject) => {
          db.logger.logQuery(sql, parameters);
          pool.query(sql, parameters, (error, rows) => {
            if (error) {
              db.logger.logQueryError(error, sql, parameters);
              // As TypeORM reports a failed statement, so that every failure looks alike.
              reject(error instanceof AppError ? error : new QueryFailedError(sql, parameters, error));
            } else resolve(rows);
          });
        }),
    };
    readers.set(db, reader);
  }
  return reader;
}
