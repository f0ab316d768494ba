import { badInput } from "../graphql/errors.js";

/**
 * A change's place in commit order: the sequencer's batch, then the event's id within it. Batches are
 * numbered 1, 2, 3… as they commit, and a batch only holds changes committed before it.
 */
export interface Position {
  batch: number;
  id: string;
}

const PREFIX = "change:";

export function encodeCursor({ batch, id }: Position): string {
  return Buffer.from(`${PREFIX}${batch}:${id}`).toString("base64url");
}

/** The position a cursor names; BAD_USER_INPUT naming `field` when this API did not give it out. */
export function decodeCursor(cursor: string, field = "after"): Position {
  const match = /^change:(\d{1,15}):(\d{1,20})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw badInput(field, "is not a cursor this API gave out");
  return { batch: Number(match[1]), id: match[2] };
}

/** Negative, zero or positive as `a` comes before, at or after `b`. */
export function comparePositions(a: Position, b: Position): number {
  if (a.batch !== b.batch) return a.batch - b.batch;
  return a.id.length !== b.id.length ? a.id.length - b.id.length : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** After every change of `batch` and before any of the next. */
export function endOfBatch(batch: number): Position {
  return { batch, id: "99999999999999999999" };
}
