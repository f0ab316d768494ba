import type mysql from "mysql2/promise";
import type { Answer as ReceiverAnswer } from "../webhook-receiver.js";
import { sleep } from "./gateway.js";
import type { Instance } from "./instances.js";
import type { BackingServices } from "./services.js";

/** An outbox message a killed instance had leased, and still held when its deliveries would have ended. */
export interface HeldMessage {
  id: string;
  channel: string;
  endpointId: string | null;
  referralId: string | null;
}

/** One SIGKILL: when, when the instance was back, and what it died holding. */
export interface Kill {
  instance: string;
  at: number;
  restartedAt?: number;
  held: HeldMessage[];
}

/**
 * Whether a pending message is one a run shorter than the lease may leave behind: held by a killed
 * instance, or a later delivery of the same referral to the same endpoint, queued behind one.
 */
export function heldOrBehind(kills: readonly Kill[], message: HeldMessage): boolean {
  return kills.some((kill) =>
    kill.held.some(
      (held) =>
        held.id === message.id ||
        (held.endpointId !== null &&
          held.endpointId === message.endpointId &&
          held.referralId === message.referralId &&
          BigInt(message.id) > BigInt(held.id)),
    ),
  );
}

/** What the faults did, for the checks (kills) and the report (every step, timed). */
export class FaultLog {
  readonly kills: Kill[] = [];
  readonly steps: { at: number; what: string }[] = [];

  note(what: string): void {
    this.steps.push({ at: Date.now(), what });
  }
}

/** A fault at `atMs` after the load starts. */
export interface ScheduledFault {
  atMs: number;
  name: string;
  run(kit: FaultKit): Promise<void>;
}

export interface FaultKit {
  instances: readonly Instance[];
  services: BackingServices;
  /** Straight to MariaDB, past the proxy: what the harness reads. */
  db: mysql.Pool;
  log: FaultLog;
}

/**
 * How long after a kill the messages it had leased are looked at again: longer than any live instance's
 * delivery takes (WEBHOOK_TIMEOUT, the SMTP timeouts, a stalled database), so that those still under
 * the same lease are the dead instance's.
 */
const HELD_AFTER_MS = 15_000;

/** SIGKILLs `instance`, starts it again `restartAfterMs` later, and finds what it died holding. */
export function killInstance(instance: Instance, restartAfterMs: number): ScheduledFault["run"] {
  return async ({ db, log }) => {
    const kill: Kill = { instance: instance.name, at: await instance.kill(), held: [] };
    log.kills.push(kill);
    log.note(`SIGKILL ${instance.name}`);
    const [leased] = await db.query<mysql.RowDataPacket[]>(
      `SELECT CAST(id AS CHAR) AS id, lease_token FROM outbox_messages WHERE status = 'PENDING' AND lease_token IS NOT NULL`,
    );
    const held = (async () => {
      await sleep(HELD_AFTER_MS);
      if (leased.length === 0) return;
      const [still] = await db.query<mysql.RowDataPacket[]>(
        `SELECT CAST(id AS CHAR) AS id, channel, CAST(endpoint_id AS CHAR) AS endpointId, CAST(referral_id AS CHAR) AS referralId, lease_token
         FROM outbox_messages WHERE id IN (?) AND status = 'PENDING'`,
        [leased.map((row) => row.id)],
      );
      const tokenOf = new Map(leased.map((row) => [row.id as string, row.lease_token as string]));
      kill.held = still
        .filter((row) => row.lease_token === tokenOf.get(row.id))
        .map(({ id, channel, endpointId, referralId }) => ({ id, channel, endpointId, referralId }));
    })();
    await sleep(restartAfterMs);
    try {
      await instance.start();
      kill.restartedAt = Date.now();
      log.note(`${instance.name} serving again`);
    } catch {
      // It crashed while starting: it is started again as any crashed instance is (instances.ts).
      log.note(`${instance.name} crashed while starting again`);
    }
    await held;
  };
}

export function restartRedis(): ScheduledFault["run"] {
  return async ({ services, log }) => {
    log.note("Redis stopped");
    await services.redis.restart();
    log.note("Redis started again (empty)");
  };
}

/** The database proxy holds every byte for `ms`: the database seems to hang, then answers everything held. */
export function stallDatabase(ms: number): ScheduledFault["run"] {
  return async ({ services, log }) => {
    services.database.freeze();
    log.note(`database stalled for ${ms / 1000} s`);
    await sleep(ms);
    services.database.restore();
    log.note("database flowing again");
  };
}

export function refuseSmtp(ms: number): ScheduledFault["run"] {
  return async ({ services, log }) => {
    services.smtp.refusing = true;
    log.note(`SMTP refuses for ${ms / 1000} s`);
    await sleep(ms);
    services.smtp.refusing = false;
    log.note("SMTP accepts again");
  };
}

/** The receiver of partner `index` answers `answer` (a status, or never) for `ms`. */
export function receiverAnswers(index: number, answer: ReceiverAnswer, ms: number): ScheduledFault["run"] {
  return async ({ services, log }) => {
    const receiver = services.receivers[index];
    receiver.otherwise = answer;
    log.note(`receiver ${index + 1} answers ${answer} for ${ms / 1000} s`);
    await sleep(ms);
    receiver.otherwise = 200;
    log.note(`receiver ${index + 1} answers 200 again`);
  };
}

/** Runs each fault at its time after `startedAt`; resolves when every one has ended. */
export async function runFaults(schedule: readonly ScheduledFault[], kit: FaultKit, startedAt: number): Promise<void> {
  await Promise.all(
    schedule.map(async (fault) => {
      await sleep(Math.max(0, startedAt + fault.atMs - Date.now()));
      try {
        await fault.run(kit);
      } catch (error) {
        kit.log.note(`${fault.name} failed: ${(error as Error).message}`);
        throw error;
      }
    }),
  );
}
