/** Whether a driver error is MySQL's duplicate-key error (ER_DUP_ENTRY), optionally on one named index. */
export function isDuplicateKey(error: unknown, index?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; sqlMessage?: string } })?.driverError ?? error;
  const { code, sqlMessage } = driverError as { code?: string; sqlMessage?: string };
  return code === "ER_DUP_ENTRY" && (index === undefined || (sqlMessage ?? "").includes(`'${index}'`) || (sqlMessage ?? "").includes(`.${index}'`));
}
