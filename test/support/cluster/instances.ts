import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { COVERAGE, freePort } from "../process.js";
import type { BackingServices } from "./services.js";

// What `npm start` runs, with its Node flags.
const MAIN = fileURLToPath(new URL("../../../src/main.js", import.meta.url));
const NODE_FLAGS = ["--max-semi-space-size=64"];

const children = new Map<ChildProcess, NodeJS.Signals>();
let hooked = false;

/**
 * Ends `child` with this process, however this process ends (a failed run must not leave servers
 * behind), with `signal` (SIGTERM for a process that must stop its own children, as nginx's master does).
 */
export function killOnExit(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (!hooked) {
    process.on("exit", killChildren);
    // Stopped by hand (Ctrl-C), the run ends what it started too.
    for (const stop of ["SIGINT", "SIGTERM"] as const) process.once(stop, () => process.exit(130));
  }
  hooked = true;
  children.set(child, signal);
  child.once("exit", () => children.delete(child));
}

function killChildren(): void {
  for (const [child, signal] of children) child.kill(signal);
}

/** The short windows and schedules that let a run of minutes go through every deadline and retry. */
export interface Timings {
  /** NEW_REFERRAL_RESPONSE_WINDOW and EVALUATION_WINDOW, in ms. */
  newWindowMs: number;
  evaluationWindowMs: number;
  /** EXPIRY_SWEEP_EVERY, in ms. */
  sweepEveryMs: number;
  /** REMINDER_BEFORE, in ms. */
  reminderBeforeMs: number;
  /** WEBHOOK_RETRY_SCHEDULE and NOTIFY_RETRY_SCHEDULE: long enough in all to outlast the longest outage of the run. */
  retrySchedule: string;
}

/** The environment every instance of the run gets: production, on the run's Redis, SMTP and database proxy. */
export function instanceEnv(services: BackingServices, database: string, adminKey: string, timings: Timings): Record<string, string> {
  return {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: `mysql://root@127.0.0.1:${services.database.port}/${database}`,
    ADMIN_API_KEY: adminKey,
    PUBSUB_URL: services.redis.url,
    JOBS_URL: services.redis.url,
    RATE_LIMIT_STORE: services.redis.url,
    SMTP_URL: services.smtp.url,
    // The receivers listen on 127.0.0.1.
    WEBHOOK_ALLOW_PRIVATE_URLS: "true",
    NEW_REFERRAL_RESPONSE_WINDOW: `${timings.newWindowMs}ms`,
    EVALUATION_WINDOW: `${timings.evaluationWindowMs}ms`,
    EXPIRY_SWEEP_EVERY: `${timings.sweepEveryMs}ms`,
    REMINDER_BEFORE: `${timings.reminderBeforeMs}ms`,
    WEBHOOK_RETRY_SCHEDULE: timings.retrySchedule,
    NOTIFY_RETRY_SCHEDULE: timings.retrySchedule,
    // The load measures the cluster, not the limits (each request is still counted in Redis).
    RATE_LIMIT: "1000000",
    MAX_SOCKETS_PER_KEY: "100",
    // nginx, when in front, is on this machine.
    TRUST_PROXY: "127.0.0.1",
    SHUTDOWN_TIMEOUT: "10s",
  };
}

/** One way an instance ended: `killed` when the run meant it (SIGKILL or a stop). */
export interface InstanceExit {
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
}

/** Before an instance that crashed is started again, as an orchestrator's restart policy would. */
const RESTART_CRASHED_AFTER_MS = 1000;

/**
 * One server process of the cluster, on a port of its own, its output appended to `<logDir>/<name>.log`.
 * One that exits on its own is started again (and its exit kept, for the checks).
 */
export class Instance {
  readonly exits: InstanceExit[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private meaningToEnd = false;
  private restarting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    readonly logFile: string,
  ) {}

  static async create(name: string, env: Record<string, string>, logDir: string): Promise<Instance> {
    return new Instance(name, await freePort(), env, join(logDir, `${name}.log`));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once /healthz answers "ok". */
  async start(): Promise<void> {
    const log = openSync(this.logFile, "a");
    const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], {
      env: { PATH: process.env.PATH ?? "", ...COVERAGE, ...this.env, PORT: String(this.port) },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    killOnExit(child);
    this.child = child;
    this.meaningToEnd = false;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exits.push({ at: Date.now(), code, signal, killed: this.meaningToEnd });
        if (this.child === child) this.child = undefined;
        if (!this.meaningToEnd && !this.closed) this.restartCrashed();
        resolve();
      }),
    );
    const deadline = Date.now() + 60_000;
    while (!(await this.healthy())) {
      if (this.child !== child) throw new Error(`${this.name} exited before serving; see ${this.logFile}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not serve within 60 s; see ${this.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGKILL: the process dies holding whatever it held. Resolves, once it has died, with when it was signalled. */
  async kill(): Promise<number> {
    // A crashed instance is killed once it is back (a restart that fails plans the next one), if within a minute.
    for (const deadline = Date.now() + 60_000; this.restarting && Date.now() < deadline; ) await this.restarting;
    const at = Date.now();
    await this.end("SIGKILL");
    return at;
  }

  /** SIGTERM, as an orchestrator stops it; SIGKILL if it has not ended within 20 s. */
  async stop(): Promise<void> {
    this.closed = true;
    while (this.restarting) await this.restarting;
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 20_000);
    await this.end("SIGTERM");
    clearTimeout(timer);
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    if (!this.child) return;
    this.meaningToEnd = true;
    this.child.kill(signal);
    await this.exited;
  }

  /** Starts it again soon; one that fails to start is started again the same way, until the run stops it. */
  private restartCrashed(): void {
    const restarting: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, RESTART_CRASHED_AFTER_MS))
      .then(() => (this.closed ? undefined : this.start()))
      .catch(() => undefined)
      .finally(() => {
        if (this.restarting === restarting) this.restarting = undefined;
      });
    this.restarting = restarting;
  }

  /** Resident memory in bytes (/proc), undefined when not running. */
  rss(): number | undefined {
    if (!this.child?.pid) return undefined;
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  }

  /** The live subscriptions it holds, as /healthz reports them (0 when it does not answer). */
  async subscriptions(): Promise<number> {
    try {
      const health = (await (await fetch(`http://127.0.0.1:${this.port}/healthz`)).json()) as { live: { subscriptions: number } };
      return health.live.subscriptions;
    } catch {
      return 0;
    }
  }

  /** The last `lines` lines of its log. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, "utf8")
        .split("\n")
        .slice(-lines - 1)
        .join("\n");
    } catch {
      return "";
    }
  }

  private async healthy(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/healthz`);
      return response.ok && ((await response.json()) as { status?: string }).status === "ok";
    } catch {
      return false;
    }
  }
}

/** Starts `count` instances, the first alone (it migrates the empty database), then the others together. */
export async function startInstances(count: number, env: Record<string, string>, logDir: string): Promise<Instance[]> {
  const instances = await Promise.all(Array.from({ length: count }, (_, n) => Instance.create(`instance-${n + 1}`, env, logDir)));
  await instances[0].start();
  await Promise.all(instances.slice(1).map((instance) => instance.start()));
  return instances;
}
