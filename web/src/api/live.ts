import { type Client, createClient } from "graphql-ws";
import type { ReferralAction } from "../../../src/referrals/lifecycle.js";
import { GRAPHQL_PATH } from "./graphql.js";
import { REFERRAL_FIELDS, type Referral } from "./referrals.js";

export interface LiveChange {
  action: ReferralAction;
  version: number;
  referral: Referral;
}

export type LiveState = "connecting" | "live" | "reconnecting" | "refused";

export interface LiveListener {
  change(change: LiveChange): void;
  /** The socket came back after a drop: changes made meanwhile were not seen, so reload what is shown. */
  resync(): void;
  state(state: LiveState, reason?: string): void;
}

/** graphql-ws close codes after which trying again with the same key cannot help. */
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403]);

const CHANGES = `subscription ReferralChanges {
  referralChanged { action version referral { ...ReferralFields } }
} ${REFERRAL_FIELDS}`;

/** A wait before starting over that doubles up to 30 s, with jitter so that many pages don't come back at once. */
function backoff(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

const isRefusal = (reason: unknown): reason is CloseEvent => reason instanceof CloseEvent && FATAL_CLOSE_CODES.has(reason.code);

/**
 * The caller's referral changes, live, over graphql-ws (same origin, same key as HTTP). Every change
 * of its referrals arrives here: arrivals, moves between stages, expiry, and changes without a move
 * such as a CRM reference, each with the referral's new version. A dropped connection is retried by
 * graphql-ws; one it gives up on (e.g. the server's 4500) is started over here, later. Either way the
 * listener is asked to reload, since changes made meanwhile were not seen. Only a refused key stops it.
 */
export function watchReferrals(apiKey: string, listener: LiveListener): () => void {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let stopped = false;
  let attempt = 0;
  let restart: ReturnType<typeof setTimeout> | undefined;
  let stopCurrent = () => {};

  const start = (startingOver: boolean) => {
    const client: Client = createClient({
      url: url.href,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      retryAttempts: 5,
      shouldRetry: (reason) => !isRefusal(reason),
      on: {
        connecting: (isRetry) => listener.state(isRetry || startingOver ? "reconnecting" : "connecting"),
        connected: (_socket, _payload, wasRetry) => {
          attempt = 0;
          listener.state("live");
          if (wasRetry || startingOver) listener.resync();
        },
      },
    });
    const unsubscribe = client.subscribe<{ referralChanged: LiveChange }>(
      { query: CHANGES },
      {
        next: ({ data }) => {
          if (data) listener.change(data.referralChanged);
        },
        error: (reason) => {
          void client.dispose();
          if (stopped) return;
          if (isRefusal(reason)) return listener.state("refused", reason.reason);
          listener.state("reconnecting");
          restart = setTimeout(() => start(true), backoff(attempt++));
        },
        complete: () => {},
      },
    );
    stopCurrent = () => {
      unsubscribe();
      void client.dispose();
    };
  };

  start(false);
  return () => {
    stopped = true;
    clearTimeout(restart);
    stopCurrent();
  };
}
