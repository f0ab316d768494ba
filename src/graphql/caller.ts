import { Role } from "./role.js";

/** Who is calling: the API key that authenticated the request or socket. */
export interface Caller {
  keyId: string;
  label: string;
  role: Role;
  /** Set for PARTNER keys only. */
  partnerId: string | null;
  /** When the key stops working; unset or null: never. */
  expiresAt?: Date | null;
}

/** Whether the caller's key has expired by `now`. */
export function hasExpired(caller: Caller, now = Date.now()): boolean {
  return caller.expiresAt != null && caller.expiresAt.getTime() <= now;
}

/** setTimeout's longest delay: a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `expired` once the caller's key expires (never for a key without expiry), e.g. to close a
 * socket it opened. Returns what cancels it.
 */
export function whenExpired(caller: Caller, expired: () => void): () => void {
  const expiresAt = caller.expiresAt?.getTime();
  if (expiresAt === undefined) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const wait = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return expired();
    timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  wait();
  return () => clearTimeout(timer);
}

/** The partner a caller is confined to, or undefined when it sees every partner. */
export function partnerScope(caller: Caller): string | undefined {
  return caller.role === Role.PARTNER ? caller.partnerId! : undefined;
}

/** Whether the caller may see or act on the given partner's referrals and profiles. */
export function canActForPartner(caller: Caller, partnerId: string): boolean {
  return caller.role === Role.ADMIN || (caller.role === Role.PARTNER && caller.partnerId === partnerId);
}
