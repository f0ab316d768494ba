import type { FormattedExecutionResult } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import type { TestServer } from "./harness.js";
import { lockingConnection } from "./locks.js";

export interface Closed {
  code: number;
  reason: string;
}

export interface LiveClient {
  client: Client;
  /** Settles when the socket closes, with its close code and reason. */
  closed: Promise<Closed>;
  dispose(): Promise<void>;
}

export function wsUrl(server: TestServer): string {
  return server.url.replace(/^http/, "ws");
}

/** A graphql-ws client as a partner front-end would open it, with the key in `connection_init`. */
export function liveClient(server: TestServer, key: string | undefined, headers: Record<string, string> = {}): LiveClient {
  let onClosed!: (closed: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  // The upgrade request's own headers (e.g. X-Forwarded-For, as a proxy would add it).
  const withHeaders = class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  };
  const client = createClient({
    url: wsUrl(server),
    webSocketImpl: withHeaders,
    connectionParams: key === undefined ? {} : { authorization: `Bearer ${key}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: { closed: (event) => onClosed({ code: (event as Closed).code, reason: (event as Closed).reason }) },
  });
  return { client, closed, dispose: () => client.dispose() as Promise<void> };
}

export interface Subscription<T> {
  /** Everything received so far. */
  readonly received: FormattedExecutionResult<T>[];
  /** The next result, or a failure after `timeoutMs`. */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<T>>;
  /** Settles with the error the server sent, if it ends the operation with one. */
  readonly failed: Promise<unknown>;
  stop(): void;
}

export function subscribe<T = Record<string, any>>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T> {
  const received: FormattedExecutionResult<T>[] = [];
  const waiting: ((result: FormattedExecutionResult<T>) => void)[] = [];
  // graphql-ws types a result's extensions more loosely than graphql-js does.
  type Result = FormattedExecutionResult<T>;
  let consumed = 0;
  let fail!: (error: unknown) => void;
  const failed = new Promise<unknown>((resolve) => (fail = resolve));
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        received.push(result as Result);
        waiting.shift()?.(result as Result);
      },
      error: (error) => fail(error),
      complete: () => undefined,
    },
  );
  return {
    received,
    failed,
    stop,
    next(timeoutMs = 2000) {
      if (consumed < received.length) return Promise.resolve(received[consumed++]);
      return new Promise((resolve, reject) => {
        const waiter = (result: Result) => {
          clearTimeout(timer);
          consumed++;
          resolve(result);
        };
        // A wait that timed out leaves the queue: the next result goes to the next wait.
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`nothing received within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push(waiter);
      });
    },
  };
}

/** Waits until the server holds exactly `count` live subscriptions, as it reports on /healthz. */
export async function subscriptionsReach(server: TestServer, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = (await (await fetch(server.url.replace("/graphql", "/healthz"))).json()) as {
      live: { subscriptions: number };
    };
    if (health.live.subscriptions === count) return;
    if (Date.now() > deadline) throw new Error(`the server holds ${health.live.subscriptions} subscriptions, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Live clients for a describe block: `open(key)` connects one; after each test all are closed and
 * the server holds no subscription any more.
 */
export function useLiveClients(server: { current: TestServer }): (key: string | undefined) => LiveClient {
  const clients: LiveClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((live) => live.dispose()));
    await subscriptionsReach(server.current, 0);
  });
  return (key) => {
    const live = liveClient(server.current, key);
    clients.push(live);
    return live;
  };
}

/**
 * A placed change of `referralId` whose referral names a `column` target that does not exist (foreign
 * key checks off for that one UPDATE), so that resolving the related field fails inside the server
 * when the change is delivered. Answers what puts the referral back.
 */
export async function brokenChange(server: TestServer, referralId: string, column: "rfi_id" | "partner_id"): Promise<() => Promise<void>> {
  const connection = await lockingConnection();
  const [[row]] = (await connection.query(`SELECT CAST(${column} AS CHAR) AS old, partner_id AS partnerId FROM referrals WHERE id = ?`, [
    referralId,
  ])) as unknown as [[{ old: string; partnerId: string }]];
  await connection.query("SET SESSION foreign_key_checks = 0");
  await connection.query(`UPDATE referrals SET ${column} = 999999999 WHERE id = ?`, [referralId]);
  await connection.query(
    `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor)
     SELECT id, ?, version, 'SET_EXTERNAL_REFERENCE', NOW(3), status, status, 'test' FROM referrals WHERE id = ?`,
    [row.partnerId, referralId],
  );
  server.sequencer.nudge();
  return async () => {
    await connection.query(`UPDATE referrals SET ${column} = ? WHERE id = ?`, [row.old, referralId]);
    await connection.end();
  };
}
