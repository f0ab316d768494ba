/**
 * The stable codes clients see in `extensions.code`, on their own without dependencies, so that the
 * dashboard (web/) decides on the same names as the server.
 */
export enum ErrorCode {
  BAD_USER_INPUT = "BAD_USER_INPUT",
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  NOT_FOUND = "NOT_FOUND",
  INVALID_TRANSITION = "INVALID_TRANSITION",
  STALE_VERSION = "STALE_VERSION",
  /** The server is too busy right now (no database connection, or no turn for statistics): retry later. */
  SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE",
  /** Over a rate limit (HTTP 429): retry after `extensions.retryAfterSeconds` (src/rate-limits/). */
  RATE_LIMITED = "RATE_LIMITED",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}
