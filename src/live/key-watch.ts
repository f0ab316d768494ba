import type { Logger } from "pino";
import type { ApiKeyService } from "../auth/index.js";
import { whenExpired, type Caller } from "../graphql/caller.js";
import type { LiveBus } from "./pubsub.js";
import type { LiveSocket } from "./live-socket.js";

/** How often the open sockets' keys are read again from the database: a revoked key's sockets close within this (and a query). */
export const KEY_SWEEP_MS = 2000;

export type KeyEnd = "revoked" | "expired";

/**
 * Which sockets each key holds open on this instance, and their closing when the key stops being
 * valid: at once when a revocation is heard on the bus, at its expiry by a timer, and otherwise at
 * the next sweep, which reads every open socket's key from the database whatever the bus did (no
 * shared bus, a lost message, a revocation between a socket's key check and its registration, a
 * retired ADMIN_API_KEY).
 */
export class KeyWatch {
  /** By key: its hash (what checks it again), its open sockets, and what cancels the one timer that closes them at its expiry. */
  private readonly socketsOfKey = new Map<string, { keyHash: string; sockets: Set<LiveSocket>; stopExpiry: () => void }>();
  private readonly revocations;
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly apiKeys: ApiKeyService,
    bus: LiveBus,
    /** Closes a socket whose key ended (with 4403). */
    private readonly end: (socket: LiveSocket, why: KeyEnd) => void,
    private readonly logger?: Logger,
    sweepEveryMs = KEY_SWEEP_MS,
  ) {
    this.revocations = bus.keyRevocations();
    void (async () => {
      for await (const { keyId } of this.revocations) this.ended(keyId, "revoked");
    })();
    this.timer = setInterval(() => void this.sweep(), sweepEveryMs);
    this.timer.unref();
  }

  /** Sockets open with this key on this instance. */
  count(keyId: string): number {
    return this.socketsOfKey.get(keyId)?.sockets.size ?? 0;
  }

  /** The hash of a key that holds sockets open here: one string for all of them. */
  hashOf(keyId: string): string {
    const held = this.socketsOfKey.get(keyId);
    if (!held) throw new Error(`key ${keyId} holds no socket on this instance`);
    return held.keyHash;
  }

  add(caller: Caller, keyHash: string, socket: LiveSocket): void {
    let held = this.socketsOfKey.get(caller.keyId);
    if (!held) {
      held = { keyHash, sockets: new Set(), stopExpiry: whenExpired(caller, () => this.ended(caller.keyId, "expired")) };
      this.socketsOfKey.set(caller.keyId, held);
    }
    held.sockets.add(socket);
  }

  remove(keyId: string, socket: LiveSocket): void {
    const held = this.socketsOfKey.get(keyId);
    if (!held?.sockets.delete(socket) || held.sockets.size > 0) return;
    held.stopExpiry();
    this.socketsOfKey.delete(keyId);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.revocations.return();
  }

  /** Closes the sockets of every key that is no longer valid. A database that does not answer closes nothing: the next sweep tries again. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.socketsOfKey.size === 0) return;
    this.sweeping = true;
    try {
      const invalid = await this.apiKeys.invalidAmong([...this.socketsOfKey.keys()]);
      for (const [keyId, why] of invalid) this.ended(keyId, why);
    } catch (err) {
      this.logger?.warn({ err }, "could not check the keys of open sockets; checked again at the next sweep");
    } finally {
      this.sweeping = false;
    }
  }

  private ended(keyId: string, why: KeyEnd): void {
    for (const socket of this.socketsOfKey.get(keyId)?.sockets ?? []) this.end(socket, why);
  }
}
