/**
 * What log lines may say about errors, requests and responses: never a secret, a key, a password or
 * a customer's personal data.
 *
 * pino's standard error serializer copies every enumerable property of an error. TypeORM's
 * QueryFailedError carries the statement's `parameters`, its `driverError` (whose `sql` is the
 * statement with every value inlined) and `sqlMessage` ("Duplicate entry 'ann@…' for key …"), which is
 * also its `message` and the first line of its `stack`. So errors are rebuilt from an allow-list
 * instead: type, codes, the statement's text (its placeholders, never its values), the stack; and the
 * message, unless the database wrote it with a code whose messages may quote values (a duplicate
 * entry, a trigger's SIGNAL, a parse error near inlined text, an incorrect value…): only the codes
 * known to name nothing but tables, columns and constraints keep theirs.
 */

/** A serialized error, as it appears under `err` in a log line. */
export interface SafeError {
  type: string;
  message?: string;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  /** The statement as the server wrote it, with `?` for every value. */
  query?: string;
  stack?: string;
  cause?: SafeError | unknown;
  errors?: unknown[];
  [key: string]: unknown;
}

/** Codes and numbers that say what went wrong without saying with what data. */
const CODE_FIELDS = ["code", "errno", "sqlState", "syscall", "responseCode", "responseStatus", "retryAfterSeconds"] as const;
/** The errors whose message is the database's (or TypeORM's) and may quote the values of a row. */
const DATABASE_ERRORS = new Set(["QueryFailedError", "EntityNotFoundError", "EntityPropertyNotFoundError", "UpdateValuesMissingError"]);
/** MySQL/MariaDB codes whose messages name only tables, columns, constraints or the server's state. */
const SAFE_DATABASE_CODES = new Set([
  "ER_NO_SUCH_TABLE",
  "ER_BAD_TABLE_ERROR",
  "ER_BAD_FIELD_ERROR",
  "ER_BAD_NULL_ERROR",
  "ER_NO_DEFAULT_FOR_FIELD",
  "ER_DATA_TOO_LONG",
  "ER_WARN_DATA_OUT_OF_RANGE",
  "ER_NO_REFERENCED_ROW",
  "ER_NO_REFERENCED_ROW_2",
  "ER_ROW_IS_REFERENCED",
  "ER_ROW_IS_REFERENCED_2",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_AUTOINC_READ_FAILED",
  "ER_LOCK_NOWAIT",
  "ER_QUERY_INTERRUPTED",
  "ER_STATEMENT_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_TOO_MANY_USER_CONNECTIONS",
  "ER_OUT_OF_RESOURCES",
  "ER_SERVER_SHUTDOWN",
  "ER_OPTION_PREVENTS_STATEMENT",
]);
const WITHHELD = "[message withheld: it may quote the statement's values]";
const MAX_QUERY_LENGTH = 1000;
const MAX_DEPTH = 3;
const MAX_NESTED_ERRORS = 5;

function nameOf(error: object): string {
  const { name } = error as { name?: unknown };
  return (typeof name === "string" && name) || error.constructor?.name || "Error";
}

function fromDatabase(fields: Record<string, unknown>, type: string): boolean {
  return DATABASE_ERRORS.has(type) || "sqlMessage" in fields || "sql" in fields || "driverError" in fields || "parameters" in fields;
}

/**
 * Whether the error's message may quote values: a database error without a known safe code, or an
 * error wrapping one (a GraphQLError's `originalError`, a `cause`), whose message often repeats it
 * ("Context creation failed: Duplicate entry…").
 */
function mayQuoteValues(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null) return false;
  const fields = error as Record<string, unknown>;
  if (fromDatabase(fields, nameOf(error)) && !(typeof fields.code === "string" && SAFE_DATABASE_CODES.has(fields.code))) return true;
  return depth < MAX_DEPTH && (mayQuoteValues(fields.originalError, depth + 1) || mayQuoteValues(fields.cause, depth + 1));
}

/** The stack with its first line(s), the message, replaced. */
function stackWithout(stack: string, message: string, header: string): string {
  const at = stack.indexOf("\n    at ");
  if (at >= 0) return `${header}${stack.slice(at)}`;
  return message && stack.includes(message) ? header : stack;
}

/** An error as a log line may show it (see above). Anything that is not an object passes as it is. */
export function serializeError(error: unknown, depth = 0): SafeError | unknown {
  if (typeof error !== "object" || error === null) return error;
  // Already through pino's standard serializer (which copied everything): start again from the error.
  const { raw } = error as { raw?: unknown };
  if (raw instanceof Error) return serializeError(raw, depth);
  const fields = error as Record<string, unknown>;
  const type = nameOf(error);
  const message = typeof fields.message === "string" ? fields.message : "";
  const withheld = mayQuoteValues(error);
  const safe: SafeError = { type };
  if (!withheld) safe.message = message;
  for (const field of CODE_FIELDS) if (fields[field] !== undefined && fields[field] !== null) safe[field] = fields[field];
  // TypeORM's `query` is the statement as written: placeholders, not values (mysql2's `sql` has the values).
  if (fromDatabase(fields, type) && typeof fields.query === "string") safe.query = fields.query.slice(0, MAX_QUERY_LENGTH);
  if (typeof fields.stack === "string") safe.stack = withheld ? stackWithout(fields.stack, message, `${type}: ${WITHHELD}`) : fields.stack;
  if (depth < MAX_DEPTH) {
    if (fields.cause !== undefined) safe.cause = serializeError(fields.cause, depth + 1);
    if (Array.isArray(fields.errors))
      safe.errors = fields.errors.slice(0, MAX_NESTED_ERRORS).map((nested) => serializeError(nested, depth + 1));
    // A GraphQLError wraps what a resolver threw.
    if (fields.originalError !== undefined && fields.originalError !== null)
      safe.originalError = serializeError(fields.originalError, depth + 1);
  }
  return safe;
}

/** Request headers whose values are credentials: replaced, never logged. */
const SECRET_HEADERS = ["authorization", "proxy-authorization", "cookie", "x-api-key"];
export const REDACTED = "[Redacted]";

interface LoggedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  originalUrl?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string };
}

/**
 * A request as pino-http's access log shows it: id, method, path (no query string: a GET's GraphQL
 * variables travel there), headers with credentials redacted, the client's address. Not the query,
 * the parameters nor the body.
 */
export function serializeRequest(req: LoggedRequest): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...req.headers };
  for (const name of SECRET_HEADERS) if (headers[name] !== undefined) headers[name] = REDACTED;
  const url = req.originalUrl ?? req.url;
  return {
    id: req.id,
    method: req.method,
    url: typeof url === "string" ? url.split("?")[0] : url,
    headers,
    remoteAddress: req.socket?.remoteAddress,
  };
}

/** A response as the access log shows it: its status. */
export function serializeResponse(res: { statusCode?: number }): Record<string, unknown> {
  return { statusCode: res.statusCode };
}
