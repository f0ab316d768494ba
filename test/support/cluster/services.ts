import { fork, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { SMTPServer } from "smtp-server";
import { freePort } from "../process.js";
import { killOnExit } from "./instances.js";
import { WebhookReceiver } from "../webhook-receiver.js";

/** A Redis of the run's own (no persistence, as a restarted cache would come back: empty), on a free port. */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const redis = new RedisServer(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"];
    this.process = spawn("redis-server", args, { stdio: "ignore" });
    killOnExit(this.process);
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined); // refused until it listens
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Stops it (SIGTERM; nothing is saved) and waits for its end. */
  async stop(): Promise<void> {
    const running = this.process;
    this.process = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGTERM");
    await exited;
  }

  /** Down, then up again on the same port, empty. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** One e-mail as the SMTP server accepted it. */
export interface AcceptedMail {
  messageId: string;
  at: number;
}

/**
 * An SMTP server (smtp-server) that keeps each accepted message's Message-ID and time, and nothing else:
 * a run accepts tens of thousands. `refusing` answers every recipient with a permanent error.
 */
export class MessageIdSink {
  readonly accepted: AcceptedMail[] = [];
  refusing = false;

  private constructor(private readonly server: SMTPServer) {}

  static async start(): Promise<MessageIdSink> {
    let sink!: MessageIdSink;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo: (_address, _session, callback) =>
        callback(sink.refusing ? Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }) : undefined),
      onData: (stream, _session, callback) => {
        let head = "";
        stream.on("data", (chunk: Buffer) => {
          if (head.length < 64 * 1024) head += chunk.toString("latin1");
        });
        stream.once("end", () => {
          const headers = head.split(/\r?\n\r?\n/, 1)[0];
          const found = /^message-id:\s*(<[^>\r\n]+>)/im.exec(headers);
          sink.accepted.push({ messageId: found?.[1] ?? "", at: Date.now() });
          callback();
        });
      },
    });
    // A client that dies mid-session (a SIGKILLed instance) resets its connection: nothing to do about it.
    server.on("error", () => undefined);
    sink = new MessageIdSink(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The database's proxy (test/operations/tcp-proxy.ts), run in a child process (proxy-child.ts) and told what to do. */
export class DatabaseProxy {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<DatabaseProxy> {
    const child = fork(new URL("./proxy-child.js", import.meta.url), [String(targetPort)], { stdio: "inherit" });
    killOnExit(child);
    const [ready] = (await once(child, "message")) as [{ port: number }];
    return new DatabaseProxy(child, ready.port);
  }

  /** Bytes stop flowing both ways: requests wait for an answer. */
  freeze(): void {
    this.child.send("freeze");
  }

  /** Bytes flow again, those held while frozen first. */
  restore(): void {
    this.child.send("restore");
  }

  async close(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.send("close");
    await exited;
  }
}

/** What the instances use besides each other: their database (through a proxy that can stall it), Redis, SMTP, receivers. */
export interface BackingServices {
  redis: RedisServer;
  /** In front of MariaDB at 127.0.0.1:3306. */
  database: DatabaseProxy;
  smtp: MessageIdSink;
  /** One per partner, in partner order. */
  receivers: WebhookReceiver[];
}

export async function startBackingServices(partners: number): Promise<BackingServices> {
  const [redis, database, smtp] = await Promise.all([RedisServer.start(), DatabaseProxy.start(3306), MessageIdSink.start()]);
  const receivers = await Promise.all(Array.from({ length: partners }, () => new WebhookReceiver().start()));
  return { redis, database, smtp, receivers };
}

export async function stopBackingServices(services: BackingServices): Promise<void> {
  await Promise.all([
    services.redis.stop(),
    services.database.close(),
    services.smtp.stop(),
    ...services.receivers.map((receiver) => receiver.stop()),
  ]);
}
