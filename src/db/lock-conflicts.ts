/**
 * The errors by which InnoDB refuses a transaction a lock, none of them saying that the statement was
 * wrong: the same transaction may run again. A deadlock victim (1213, the whole transaction rolled back),
 * a wait past innodb_lock_wait_timeout (1205, the statement rolled back), and a deadlock (or timeout) met
 * while waiting for a table's AUTO-INC lock, which MariaDB reports as ER_AUTOINC_READ_FAILED (1467, the
 * whole transaction rolled back).
 */
const LOCK_CONFLICTS: ReadonlyMap<number, string> = new Map([
  [1213, "ER_LOCK_DEADLOCK"],
  [1205, "ER_LOCK_WAIT_TIMEOUT"],
  [1467, "ER_AUTOINC_READ_FAILED"],
]);
const CODES = new Set(LOCK_CONFLICTS.values());

/** Whether a driver error (as TypeORM wraps it, or as mysql2 gives it) is one of the lock conflicts above. */
export function isDeadlock(error: unknown): boolean {
  const driverError = (error as { driverError?: unknown } | null)?.driverError ?? error;
  const { errno, code } = (driverError ?? {}) as { errno?: unknown; code?: unknown };
  return (typeof errno === "number" && LOCK_CONFLICTS.has(errno)) || (typeof code === "string" && CODES.has(code));
}
