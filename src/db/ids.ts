/**
 * Row ids are BIGINT UNSIGNED, exposed as GraphQL IDs (strings). Anything else cannot name a row, and
 * is treated like an id that does not exist rather than reaching SQL.
 */
export function isRowId(id: string): boolean {
  return /^[1-9]\d{0,17}$/.test(id);
}
