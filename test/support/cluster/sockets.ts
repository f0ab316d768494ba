import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { between, type Gateway } from "./gateway.js";
import type { ClusterPartner } from "./population.js";

const CHANGED = `subscription($after: String) { referralChanged(after: $after) { cursor } }`;

/** Where a socket was dropped: why, and how many changes it had before (it resumed from the last one's cursor). */
export interface Seam {
  at: number;
  why: string;
  received: number;
}

/**
 * A partner front-end's socket on `referralChanged(after)`: when it is dropped (an instance killed, a
 * replay that failed), it connects again, through the gateway, with the last cursor it saw. `cursors`
 * is every change it got, joined across its connections.
 */
export class FeedSocket {
  readonly cursors: string[] = [];
  readonly seams: Seam[] = [];
  /** GraphQL errors in results, or errors that ended a subscription. */
  readonly errors: string[] = [];
  /** Dropped before it got its first change: it connected again live, without a cursor to resume from. */
  resumedWithoutCursor = false;
  private client: Client | undefined;
  private stopped = false;

  constructor(
    readonly partner: ClusterPartner,
    private readonly gateway: Gateway,
  ) {}

  get last(): string | undefined {
    return this.cursors.at(-1);
  }

  connect(): void {
    const after = this.last ?? null;
    let over = false;
    const dropped = (why: string) => {
      if (over) return;
      over = true;
      // Disposing a client whose connection failed rejects with the close event: nothing to do about it.
      Promise.resolve(client.dispose()).catch(() => undefined);
      if (this.stopped) return;
      this.seams.push({ at: Date.now(), why, received: this.cursors.length });
      if (this.cursors.length === 0) this.resumedWithoutCursor = true;
      setTimeout(() => this.stopped || this.connect(), between(200, 1000));
    };
    const client = createClient({
      url: this.gateway.ws(),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.partner.key}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: { closed: (event) => dropped(`closed ${(event as { code?: number }).code ?? "?"}`) },
    });
    this.client = client;
    client.subscribe<{ referralChanged: { cursor: string } }>(
      { query: CHANGED, variables: { after } },
      {
        next: (result) => {
          if (over) return;
          if (result.errors) this.errors.push(result.errors.map((error) => error.message).join("; "));
          if (result.data) this.cursors.push(result.data.referralChanged.cursor);
        },
        error: (error) => {
          if (!over && !(error as { code?: number }).code) this.errors.push(JSON.stringify(error).slice(0, 300));
          dropped(`error ${(error as { code?: number }).code ?? "graphql"}`);
        },
        complete: () => dropped("completed"),
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.resolve(this.client?.dispose()).catch(() => undefined);
  }
}

/** `perPartner` sockets for each partner, connected through the gateway. */
export function openSockets(partners: readonly ClusterPartner[], perPartner: number, gateway: Gateway): FeedSocket[] {
  const sockets = partners.flatMap((partner) => Array.from({ length: perPartner }, () => new FeedSocket(partner, gateway)));
  for (const socket of sockets) socket.connect();
  return sockets;
}
