/** Whether a driver error is MySQL's duplicate-key error (ER_DUP_ENTRY), optionally on one named index. */
export function isDuplicateKey(error: unknown, index?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; sqlMessage?: string } })?.driverError ?? error;
  const { code, sqlMessage } = driverError as { code?: string; sqlMessage?: string };
  return (
    code === "ER_DUP_ENTRY" &&
    (index === undefined || (sqlMessage ?? "").includes(`'${index}'`) || (sqlMessage ?? "").includes(`.${index}'`))
  );
}

/** InnoDB chose this transaction as a deadlock victim, or it waited too long for a lock: it did nothing, and may run again. */
export function isDeadlock(error: unknown): boolean {
  const code = (error as { driverError?: { code?: string } })?.driverError?.code;
  return code === "ER_LOCK_DEADLOCK" || code === "ER_LOCK_WAIT_TIMEOUT";
}

const DEADLOCK_RETRIES = 3;

/** Runs a whole transaction again (at most three times in all) when InnoDB rolled it back as a deadlock victim. */
export async function retryingDeadlocks<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= DEADLOCK_RETRIES) throw error;
    }
  }
}
