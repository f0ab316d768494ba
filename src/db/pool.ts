import type { DataSource } from "typeorm";
import { serviceUnavailable } from "../graphql/errors.js";

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
