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

/**
 * The caller's referral changes, live, over graphql-ws (same origin, same key as HTTP). Every change
 * of its referrals arrives here: arrivals, moves between stages, expiry, and changes without a move
 * such as a CRM reference, each with the referral's new version.
 */
export function watchReferrals(apiKey: string, listener: LiveListener): () => void {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const client: Client = createClient({
    url: url.href,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !(event instanceof CloseEvent && FATAL_CLOSE_CODES.has(event.code)),
    on: {
      connecting: (isRetry) => listener.state(isRetry ? "reconnecting" : "connecting"),
      connected: (_socket, _payload, wasRetry) => {
        listener.state("live");
        if (wasRetry) listener.resync();
      },
      closed: (event) => {
        if (event instanceof CloseEvent && FATAL_CLOSE_CODES.has(event.code)) listener.state("refused", event.reason);
      },
    },
  });
  const unsubscribe = client.subscribe<{ referralChanged: LiveChange }>(
    { query: CHANGES },
    {
      next: ({ data }) => {
        if (data) listener.change(data.referralChanged);
      },
      error: () => listener.state("reconnecting"),
      complete: () => {},
    },
  );
  return () => {
    unsubscribe();
    void client.dispose();
  };
}
