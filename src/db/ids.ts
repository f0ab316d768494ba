import { badInput } from "../graphql/errors.js";

/**
 * Row ids are BIGINT UNSIGNED, exposed as GraphQL IDs (strings). Anything else cannot name a row, and
 * is treated like an id that does not exist rather than reaching SQL.
 */
export function isRowId(id: string): boolean {
  return /^[1-9]\d{0,17}$/.test(id);
}

/** Cursors of a list in id order: `<kind>:<id>` in base64url, refused (BAD_USER_INPUT naming `after`) unless it names a row id of that kind. */
export function idCursors(kind: string): { encode(id: string): string; decode(cursor: string): string } {
  const pattern = new RegExp(`^${kind}:(\\d+)$`);
  return {
    encode: (id) => Buffer.from(`${kind}:${id}`).toString("base64url"),
    decode: (cursor) => {
      const id = pattern.exec(Buffer.from(cursor, "base64url").toString("utf8"))?.[1];
      if (id === undefined || !isRowId(id)) throw badInput("after", "is not a cursor this API gave out");
      return id;
    },
  };
}
