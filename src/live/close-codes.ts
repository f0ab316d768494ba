import { CloseCode } from "graphql-ws";

/** Why the server closes a socket: graphql-ws's own codes, and the feed's. */
export enum LiveCloseCode {
  /** A bad, unknown or revoked key: in `connection_init`, or revoked while connected. */
  Forbidden = CloseCode.Forbidden,
  /** No `connection_init` within the wait. */
  ConnectionInitialisationTimeout = CloseCode.ConnectionInitialisationTimeout,
  /** The client stopped reading: more than LIMITS.maxPendingEvents live events waited for it. */
  SlowConsumer = 4413,
  /** Too many sockets for this key on this instance, or too many failed keys (or keyless sockets) from this address. */
  RateLimited = 4429,
  /** The server could not replay the changes `referralChanged(after)` asked for: reconnect with the last cursor. */
  ReplayFailed = CloseCode.InternalServerError,
  /** The key could not be checked at `connection_init` (the database did not answer): reconnect shortly (WebSocket's own 1013). */
  TryAgainLater = 1013,
}
