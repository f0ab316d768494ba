import { Role } from "./role.js";

/** Who is calling: the API key that authenticated the request or socket. */
export interface Caller {
  keyId: string;
  label: string;
  role: Role;
  /** Set for PARTNER keys only. */
  partnerId: string | null;
}

/** The partner a caller is confined to, or undefined when it sees every partner. */
export function partnerScope(caller: Caller): string | undefined {
  return caller.role === Role.PARTNER ? caller.partnerId! : undefined;
}

/** Whether the caller may see or act on the given partner's referrals and profiles. */
export function canActForPartner(caller: Caller, partnerId: string): boolean {
  return caller.role === Role.ADMIN || (caller.role === Role.PARTNER && caller.partnerId === partnerId);
}
