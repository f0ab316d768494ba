import type { DocumentNode } from "graphql";
import type { Position } from "../change-feed/index.js";
import type { RateLimitRefusal } from "../rate-limits/index.js";
import type { LiveSocket } from "./live-socket.js";

/** `referralReceived`, `referralUpdated` and `referralChanged`: all served from the placed changes, in commit order. */
export type LiveKind = "received" | "updated" | "changed";

/**
 * A subscribe message as the socket sent it: what decides which subscribers can share an execution.
 * The live server puts it in the operation's context (`RequestContext.live`) for the subscription fields.
 */
export interface LiveRequest {
  socket: LiveSocket;
  /** The subscription's id on its socket. */
  id: string;
  document: DocumentNode;
  query: string;
  variables: Record<string, unknown> | null | undefined;
  operationName: string | null | undefined;
  /** Spends units of the key's limit for work beyond the subscribe message (a long replay); a refusal when over it. */
  spend(units: number): Promise<RateLimitRefusal | undefined>;
  /** Joins the feed of `kind` (for `changed`, replaying from `after` first): the iterator graphql-ws holds. */
  subscribe(kind: LiveKind, after?: Position): AsyncIterableIterator<never>;
}
