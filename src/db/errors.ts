import { setTimeout as sleep } from "node:timers/promises";
import { DATABASE_BUSY, serviceUnavailable, type AppError } from "../graphql/errors.js";
import { isDeadlock } from "./lock-conflicts.js";

/** Whether a driver error is MySQL's duplicate-key error (ER_DUP_ENTRY), optionally on one named index. */
export function isDuplicateKey(error: unknown, index?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; sqlMessage?: string } })?.driverError ?? error;
  const { code, sqlMessage } = driverError as { code?: string; sqlMessage?: string };
  return (
    code === "ER_DUP_ENTRY" &&
    (index === undefined || (sqlMessage ?? "").includes(`'${index}'`) || (sqlMessage ?? "").includes(`.${index}'`))
  );
}

/** Runs of a transaction that InnoDB refuses a lock (lock-conflicts.ts) before the caller is told the database is busy. */
export const DEADLOCK_ATTEMPTS = 3;
/** The longest pause before the next run, times the runs so far. */
const RETRY_PAUSE_MS = 20;

/**
 * Runs a whole transaction again when InnoDB refused it a lock (a deadlock victim, a lock wait timeout,
 * an AUTO-INC lock lost in a deadlock), at most DEADLOCK_ATTEMPTS times in all, after a short random
 * pause (the winner commits meanwhile, and two losers do not meet again at once). When every run lost,
 * SERVICE_UNAVAILABLE (HTTP 503, Retry-After): nothing was written, and the client may try again.
 */
export async function retryingDeadlocks<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isDeadlock(error)) throw error;
      if (attempt >= DEADLOCK_ATTEMPTS) throw databaseBusy(error);
      await sleep(Math.random() * RETRY_PAUSE_MS * attempt);
    }
  }
}

/** SERVICE_UNAVAILABLE for a lock conflict that outlasted the retries, keeping it as the cause (for logs). */
function databaseBusy(conflict: unknown): AppError {
  return Object.assign(serviceUnavailable(DATABASE_BUSY), { cause: conflict });
}
