import { createHash, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import { In, IsNull, type DataSource, type EntityManager } from "typeorm";
import { isRowId } from "../db/ids.js";
import { badInput, notFound, unauthenticated } from "../graphql/errors.js";
import { Partner } from "../partners/partner.entity.js";
import { ApiKey } from "./api-key.entity.js";
import type { Caller } from "./caller.js";
import { Role } from "./role.js";

const SECRET_PREFIX = "prk_";
const SECRET_BYTES = 32;
const ENVIRONMENT_KEY_LABEL = "ADMIN_API_KEY";

export interface IssueApiKey {
  role: Role;
  partnerId?: string | null;
  label: string;
}

export interface IssuedKey {
  key: ApiKey;
  /** Shown once; only its hash is stored. */
  secret: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function callerOf(key: ApiKey): Caller {
  return { keyId: key.id, label: key.label, role: key.role, partnerId: key.partnerId };
}

/** How long a checked key is trusted without asking the database again; revocation evicts it at once. */
const KEY_CACHE_MS = 5000;
const KEY_CACHE_SIZE = 10_000;

export class ApiKeyService {
  /** Known keys by secret hash (never unknown ones: a stranger's guesses must not fill it). */
  private readonly known = new LRUCache<string, Caller>({ max: KEY_CACHE_SIZE, ttl: KEY_CACHE_MS });

  constructor(
    private readonly db: DataSource,
    /** Told of every revocation, so that every instance forgets the key and closes its sockets at once. */
    private readonly revoked: (keyId: string) => void,
  ) {}

  /** The caller behind an `Authorization: Bearer <key>` value; a missing, unknown or revoked key is refused. */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) throw unauthenticated("send an API key as 'Authorization: Bearer <key>'");
    const secretHash = hashSecret(match[1]);
    const cached = this.known.get(secretHash);
    if (cached) return cached;
    const key = await this.db.getRepository(ApiKey).findOneBy({ secretHash, revokedAt: IsNull() });
    if (!key) throw unauthenticated("this API key is unknown or revoked");
    const caller = callerOf(key);
    this.known.set(secretHash, caller);
    return caller;
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
    const secret = SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
    const key = em.create(ApiKey, {
      label,
      role: input.role,
      partnerId: input.role === Role.PARTNER ? input.partnerId! : null,
      secretHash: hashSecret(secret),
      fromEnvironment: false,
      createdAt: new Date(),
      revokedAt: null,
    });
    await em.insert(ApiKey, key);
    return { key, secret };
  }

  /** Revokes a key; the next request with it is refused. True once the key is revoked, however often asked. */
  async revoke(id: string): Promise<boolean> {
    if (!isRowId(id)) throw notFound(`API key ${id}`);
    const repository = this.db.getRepository(ApiKey);
    await repository.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!(await repository.existsBy({ id }))) throw notFound(`API key ${id}`);
    this.retired(id);
    return true;
  }

  /**
   * Makes ADMIN_API_KEY work at once: its hash replaces the previous environment key, and unsetting
   * the variable revokes it.
   */
  async syncEnvironmentAdminKey(secret: string | undefined): Promise<void> {
    const secretHash = secret === undefined ? undefined : hashSecret(secret);
    const retired = await this.db.transaction(async (em) => {
      const now = new Date();
      const previous = em
        .createQueryBuilder(ApiKey, "key")
        .setLock("pessimistic_write")
        .where("key.fromEnvironment = 1 AND key.revokedAt IS NULL");
      if (secretHash) previous.andWhere("key.secretHash <> :secretHash", { secretHash });
      const retiredKeys = await previous.getMany();
      if (retiredKeys.length > 0) await em.update(ApiKey, { id: In(retiredKeys.map((key) => key.id)) }, { revokedAt: now });
      if (secretHash === undefined) return retiredKeys;
      const existing = await em.findOneBy(ApiKey, { secretHash });
      if (existing) {
        this.forget(existing.id);
        await em.update(ApiKey, { id: existing.id }, { revokedAt: null, role: Role.ADMIN, partnerId: null });
      } else {
        await em.insert(ApiKey, {
          label: ENVIRONMENT_KEY_LABEL,
          role: Role.ADMIN,
          partnerId: null,
          secretHash,
          fromEnvironment: true,
          createdAt: now,
          revokedAt: null,
        });
      }
      return retiredKeys;
    });
    // Other instances may hold sockets opened with the retired key, and remember it.
    for (const key of retired) this.retired(key.id);
  }

  /** A key no longer valid: forgotten here at once, and on every other instance through `revoked`. */
  private retired(keyId: string): void {
    this.forget(keyId);
    this.revoked(keyId);
  }

}
