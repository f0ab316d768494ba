import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
  /** Requests left hanging that the sender had not given up on (closed) when it arrived. */
  hangingAlongside: number;
  /** How it was answered. */
  answer: Answer;
}

/** How the receiver answers a request: a status, or never (the request hangs until the server gives up). */
export type Answer = number | "hang";

/** A real HTTP server that records what it receives and answers as told (200 unless `answers` says otherwise). */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Answers to give, first to last; once used up, `otherwise`. */
  answers: Answer[] = [];
  otherwise: Answer = 200;
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const answer = this.answers.shift() ?? this.otherwise;
        this.received.push({
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
          hangingAlongside: this.hanging.size,
          answer,
        });
        for (const wake of this.waiters.splice(0)) wake();
        if (answer === "hang") {
          this.hanging.add(response);
          response.once("close", () => this.hanging.delete(response));
          return;
        }
        response.writeHead(answer, { "content-type": "text/plain" }).end("ok");
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Waits until `count` requests have arrived, or fails after `timeoutMs`. */
  async receivedAtLeast(count: number, timeoutMs = 10_000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`received ${this.received.length} webhooks, not ${count}, within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** Requests left hanging that the sender has not given up on yet. */
  get stillHanging(): number {
    return this.hanging.size;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
