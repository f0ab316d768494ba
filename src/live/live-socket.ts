import type { GraphQLError } from "graphql";
import type { LiveCloseCode } from "./close-codes.js";

/**
 * What the live core needs of a client's connection, whatever carries it (ws-adapter.ts puts
 * graphql-ws on `ws` sockets): the core decides what each subscription gets and when a socket is
 * given up on; graphql-ws encodes every message (protocol.ts).
 */
export interface LiveSocket {
  readonly isOpen: boolean;
  /** Messages handed to the transport and not yet written out to the client (an estimate is enough). */
  readonly unsentMessages: number;
  /** Sends an encoded message as it is; nothing once the socket is closing or closed. */
  send(message: string): void;
  close(code: LiveCloseCode | number, reason: string): void;
  /** Ends one subscription from the server's side with an error; the socket stays open. */
  fail(subscriptionId: string, error: GraphQLError): void;
}

/**
 * A graphql-ws `next` message encoded once, for all the subscribers of a group, and addressed to one
 * subscription by its id.
 */
export type NextMessage = (subscriptionId: string) => string;
