import { createHash, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import { In, IsNull, type DataSource, type EntityManager } from "typeorm";
import { tagged } from "../db/background.js";
import type { Queryable } from "../db/entity-rows.js";
import { isDuplicateKey, retryingDeadlocks } from "../db/errors.js";
import { isRowId } from "../db/ids.js";
import { poolReader } from "../db/pool.js";
import { badInput, notFound, unauthenticated } from "../graphql/errors.js";
import type { Logger } from "../logging/logger.js";
import { Partner } from "../partners/index.js";
import { ApiKey, KeyRevoker } from "./api-key.entity.js";
import { hasExpired, type Caller } from "../graphql/caller.js";
import { Role } from "../graphql/role.js";

const SECRET_PREFIX = "prk_";
const SECRET_BYTES = 32;
const ENVIRONMENT_KEY_LABEL = "ADMIN_API_KEY";

export interface IssueApiKey {
  role: Role;
  partnerId?: string | null;
  label: string;
  /** When the key stops working: in the future; null or unset, never. */
  expiresAt?: Date | null;
}

/**
 * ADMIN_API_KEY is the secret of a key issued through the API (a partner's, say): it must not become
 * ADMIN, and the server does not start with it.
 */
export class AdminKeyConflictError extends Error {
  constructor(readonly keyId: string) {
    super(
      `ADMIN_API_KEY is the secret of API key ${keyId}, issued through the API: it cannot also be the ADMIN_API_KEY, ` +
        "and that key is not made ADMIN. Set ADMIN_API_KEY to a new secret (openssl rand -base64 32), and revoke " +
        `key ${keyId} if its secret was shared.`,
    );
    this.name = "AdminKeyConflictError";
  }
}

export interface IssuedKey {
  key: ApiKey;
  /** Shown once; only its hash is stored. */
  secret: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The hash of the key in an `Authorization: Bearer <key>` value; UNAUTHENTICATED when there is none. */
export function keyHashOf(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) throw unauthenticated("send an API key as 'Authorization: Bearer <key>'");
  return hashSecret(match[1]);
}

function callerOf(key: ApiKey): Caller {
  return { keyId: key.id, label: key.label, role: key.role, partnerId: key.partnerId, expiresAt: key.expiresAt };
}

/** How long a checked key is trusted without asking the database again; revocation evicts it at once, expiry is checked at each use. */
const KEY_CACHE_MS = 5000;
const KEY_CACHE_SIZE = 10_000;
/** Keys read at once by `invalidAmong`. */
const KEY_SWEEP_BATCH = 1000;
/** `lastUsedAt` is written at most this often per key. */
export const LAST_USED_EVERY_MS = 60_000;
/** An expired key gets the same answer as a revoked or unknown one. */
const REFUSED = "this API key is unknown or revoked";

export class ApiKeyService {
  /** Known keys by secret hash (never unknown ones: a stranger's guesses must not fill it). */
  private readonly known = new LRUCache<string, Caller>({ max: KEY_CACHE_SIZE, ttl: KEY_CACHE_MS });
  /** Keys whose `lastUsedAt` this instance wrote (or tried to) within the last minute. */
  private readonly touched = new LRUCache<string, true>({ max: KEY_CACHE_SIZE, ttl: LAST_USED_EVERY_MS });
  private readonly lastUse: Queryable;
  private readonly sweep: Queryable;

  constructor(
    private readonly db: DataSource,
    /** Told of every revocation, so that every instance forgets the key and closes its sockets at once. */
    private readonly revoked: (keyId: string) => void,
    private readonly logger?: Logger,
  ) {
    this.lastUse = tagged(poolReader(db), "key-last-used");
    this.sweep = tagged(poolReader(db), "socket-key-sweep");
  }

  /** The caller behind an `Authorization: Bearer <key>` value; a missing, unknown, revoked or expired key is refused. */
  authenticate(authorization: string | undefined): Promise<Caller> {
    return this.authenticateHash(keyHashOf(authorization));
  }

  /**
   * The caller behind a key's hash (keyHashOf), through the same short cache as `authenticate`: a
   * socket keeps the hash, never the key, and checks it again before every operation.
   */
  async authenticateHash(secretHash: string): Promise<Caller> {
    let caller = this.known.get(secretHash);
    if (!caller) {
      const key = await this.db.getRepository(ApiKey).findOneBy({ secretHash, revokedAt: IsNull() });
      if (!key) throw unauthenticated(REFUSED);
      caller = callerOf(key);
      if (!hasExpired(caller)) this.known.set(secretHash, caller);
    }
    // Remembered or just read: an expired key is refused from its expiry on, whatever the cache says.
    if (hasExpired(caller)) {
      this.known.delete(secretHash);
      throw unauthenticated(REFUSED);
    }
    this.used(caller.keyId);
    return caller;
  }

  /**
   * Records the key's use, at most once a minute: off the request's path (never awaited, so it holds
   * nothing the request waits for), an autocommit statement on a connection of its own, never inside
   * a transaction; the guard keeps instances from rewriting it within the minute. Best effort: a
   * failure (a busy pool, say) is left until the next minute.
   */
  private used(keyId: string): void {
    if (this.touched.has(keyId)) return;
    this.touched.set(keyId, true);
    const now = Date.now();
    this.lastUse
      .query("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", [
        new Date(now),
        keyId,
        new Date(now - LAST_USED_EVERY_MS),
      ])
      .catch((error: unknown) => {
        this.logger?.debug(
          { keyId, problem: error instanceof Error ? error.message : String(error) },
          "could not record the last use of an API key",
        );
      });
  }

  /** Every key, newest first; revoked ones only when asked. Hashes stay in the rows: the GraphQL type never shows them. */
  list(includeRevoked: boolean): Promise<ApiKey[]> {
    return this.db.getRepository(ApiKey).find({
      where: includeRevoked ? {} : { revokedAt: IsNull() },
      order: { createdAt: "DESC", id: "DESC" },
    });
  }

  /**
   * Which of these keys are no longer valid now (revoked, expired or gone), read from the database
   * whatever any cache remembers: the sweep of open sockets, which holds whatever bus carries
   * revocations (or loses one). One primary-key read per thousand keys.
   */
  async invalidAmong(keyIds: readonly string[]): Promise<Map<string, "revoked" | "expired">> {
    const invalid = new Map<string, "revoked" | "expired">();
    const now = Date.now();
    for (let start = 0; start < keyIds.length; start += KEY_SWEEP_BATCH) {
      const ids = keyIds.slice(start, start + KEY_SWEEP_BATCH);
      const rows: { id: string; revokedAt: Date | null; expiresAt: Date | null }[] = await this.sweep.query(
        "SELECT CAST(id AS CHAR) AS id, revoked_at AS revokedAt, expires_at AS expiresAt FROM api_keys WHERE id IN (?)",
        [ids],
      );
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const id of ids) {
        const row = found.get(id);
        if (!row || row.revokedAt !== null) invalid.set(id, "revoked");
        else if (row.expiresAt !== null && row.expiresAt.getTime() <= now) invalid.set(id, "expired");
      }
    }
    for (const id of invalid.keys()) this.forget(id);
    return invalid;
  }

  /** A key revoked here or on another instance: it is refused from the next request on. */
  forget(keyId: string): void {
    for (const [hash, caller] of this.known.entries()) if (caller.keyId === keyId) this.known.delete(hash);
  }

  /** Forgets every key other instances revoke, until `revocations` is returned. */
  async forgetRevoked(revocations: AsyncIterable<{ keyId: string }>): Promise<void> {
    for await (const { keyId } of revocations) this.forget(keyId);
  }

  async issue(input: IssueApiKey, em: EntityManager = this.db.manager): Promise<IssuedKey> {
    const label = input.label.trim();
    if (input.role === Role.PARTNER) {
      if (!input.partnerId) throw badInput("input.partnerId", "is required for PARTNER keys");
      if (!isRowId(input.partnerId) || !(await em.existsBy(Partner, { id: input.partnerId }))) {
        throw badInput("input.partnerId", `no partner ${input.partnerId}`);
      }
    } else if (input.partnerId) {
      throw badInput("input.partnerId", `only PARTNER keys belong to a partner, not ${input.role} keys`);
    }
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && expiresAt.getTime() <= Date.now()) {
      throw badInput("input.expiresAt", `must be in the future (got ${expiresAt.toISOString()})`);
    }
    const secret = SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
    const key = em.create(ApiKey, {
      label,
      role: input.role,
      partnerId: input.role === Role.PARTNER ? input.partnerId! : null,
      secretHash: hashSecret(secret),
      fromEnvironment: false,
      createdAt: new Date(),
      lastUsedAt: null,
      expiresAt,
      revokedAt: null,
      revokedBy: null,
    });
    await em.insert(ApiKey, key);
    return { key, secret };
  }

  /** Revokes a key; the next request with it is refused. True once the key is revoked, however often asked. */
  async revoke(id: string): Promise<boolean> {
    if (!isRowId(id)) throw notFound(`API key ${id}`);
    const repository = this.db.getRepository(ApiKey);
    // A key revoked already keeps its revocation time, and is now revoked by an admin.
    await repository
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => "COALESCE(revoked_at, :now)", revokedBy: KeyRevoker.ADMIN })
      .where("id = :id", { id, now: new Date() })
      .execute();
    if (!(await repository.existsBy({ id }))) throw notFound(`API key ${id}`);
    this.retired(id);
    return true;
  }

  /**
   * Makes ADMIN_API_KEY work at once. Rotation is one-way: a new value's key replaces the previous
   * environment key, which is retired for good. A value once retired or revoked is never accepted
   * again (it warns: the server runs without it, and the current key stays), so an instance restarted
   * with an old value undoes nothing; an unset variable changes nothing. A value that is the secret of
   * a key issued through the API touches no key (AdminKeyConflictError: the server does not start).
   */
  async syncEnvironmentAdminKey(secret: string | undefined): Promise<void> {
    if (secret === undefined) return;
    const secretHash = hashSecret(secret);
    const { retired, revoked } = await retryingDeadlocks(() => this.syncEnvironmentKeyOnce(secretHash)).catch((error: unknown) => {
      // Another instance starting at the same moment inserted the same key first: it is there now.
      if (isDuplicateKey(error, "uq_api_keys_secret_hash")) return this.syncEnvironmentKeyOnce(secretHash);
      throw error;
    });
    if (revoked) {
      const how = revoked.revokedBy === KeyRevoker.ENVIRONMENT ? "retired when ADMIN_API_KEY moved on" : "revoked by an admin";
      this.logger?.warn(
        { keyId: revoked.id, revokedAt: revoked.revokedAt },
        `ADMIN_API_KEY is revoked (API key ${revoked.id}, ${how}) and stays revoked: it is refused. It must be changed: set ADMIN_API_KEY to the current value or a new secret`,
      );
    }
    // Other instances may hold sockets opened with the retired key, and remember it.
    for (const key of retired) this.retired(key.id);
  }

  private syncEnvironmentKeyOnce(secretHash: string): Promise<{ retired: ApiKey[]; revoked: ApiKey | null }> {
    return this.db.transaction(async (em) => {
      // The key with this secret, first: if it is not the environment's, nothing may change.
      const existing = await em
        .createQueryBuilder(ApiKey, "key")
        .setLock("pessimistic_write")
        .where("key.secretHash = :secretHash", { secretHash })
        .getOne();
      if (existing && !existing.fromEnvironment) throw new AdminKeyConflictError(existing.id);
      if (existing) return { retired: [], revoked: existing.revokedAt === null ? null : existing };
      const now = new Date();
      const retired = await em
        .createQueryBuilder(ApiKey, "key")
        .setLock("pessimistic_write")
        .where("key.fromEnvironment = 1 AND key.revokedAt IS NULL")
        .getMany();
      if (retired.length > 0) {
        await em.update(ApiKey, { id: In(retired.map((key) => key.id)) }, { revokedAt: now, revokedBy: KeyRevoker.ENVIRONMENT });
      }
      await em.insert(ApiKey, {
        label: ENVIRONMENT_KEY_LABEL,
        role: Role.ADMIN,
        partnerId: null,
        secretHash,
        fromEnvironment: true,
        createdAt: now,
        lastUsedAt: null,
        expiresAt: null,
        revokedAt: null,
        revokedBy: null,
      });
      return { retired, revoked: null };
    });
  }

  /** A key no longer valid: forgotten here at once, and on every other instance through `revoked`. */
  private retired(keyId: string): void {
    this.forget(keyId);
    this.revoked(keyId);
  }
}
