import type { DataSource } from "typeorm";
import { EntityRows } from "../db/entity-rows.js";
import { Rfi } from "./rfi.entity.js";

/**
 * Mailbox providers anyone can sign up with: two customers sharing one of these domains are not the
 * same company, so the domain alone never makes RFIs possible duplicates.
 */
export const PUBLIC_MAIL_DOMAINS: readonly string[] = [
  "aol.com",
  "free.fr",
  "gmail.com",
  "gmx.com",
  "gmx.de",
  "gmx.fr",
  "googlemail.com",
  "hotmail.com",
  "hotmail.fr",
  "icloud.com",
  "laposte.net",
  "live.com",
  "live.fr",
  "mail.com",
  "me.com",
  "msn.com",
  "orange.fr",
  "outlook.com",
  "outlook.fr",
  "proton.me",
  "protonmail.com",
  "sfr.fr",
  "wanadoo.fr",
  "web.de",
  "yahoo.com",
  "yahoo.fr",
  "yandex.com",
  "zoho.com",
];
const PUBLIC = new Set(PUBLIC_MAIL_DOMAINS);

/** Possible duplicates shown at most, newest first. */
export const MAX_DUPLICATES = 50;

/** An e-mail address as duplicates compare it: trimmed, case folded. */
export function normalisedEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The domain of an address, in lower case (null when it has none). */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf("@");
  return at === -1 ? null : normalisedEmail(email.slice(at + 1)) || null;
}

/** The company's domain of an address, or null for a public mailbox provider's: it is never looked up. */
function companyDomain(email: string): string | null {
  const domain = emailDomain(email);
  return domain === null || PUBLIC.has(domain) ? null : domain;
}

/**
 * Other RFIs of the same customer submitted within `windowMs` before or after an RFI (so the
 * relation is symmetric): the same e-mail address (case-insensitive), or the same company domain in
 * the same region. Each side is one range of its own index (customer_email_normalised or
 * customer_domain, then submitted_at): never a scan.
 */
export class DuplicateFinder {
  private readonly rfis: EntityRows<Rfi>;

  constructor(
    private readonly db: DataSource,
    private readonly windowMs: number,
  ) {
    this.rfis = new EntityRows(db, Rfi);
  }

  /** Newest first, MAX_DUPLICATES at most, in one statement. */
  ofRfi(rfi: Rfi): Promise<Rfi[]> {
    const from = new Date(rfi.submittedAt.getTime() - this.windowMs);
    const to = new Date(rfi.submittedAt.getTime() + this.windowMs);
    const domain = companyDomain(rfi.customerEmail);
    const within = "submitted_at BETWEEN ? AND ? AND id <> ?";
    const sameEmail = `SELECT id FROM rfis WHERE customer_email_normalised = ? AND ${within}`;
    const sameDomain = domain === null ? "" : ` UNION SELECT id FROM rfis WHERE customer_domain = ? AND region = ? AND ${within}`;
    return this.rfis.select(
      this.db,
      "f",
      `JOIN (${sameEmail}${sameDomain}) found ON found.id = f.id ORDER BY f.submitted_at DESC, f.id DESC LIMIT ${MAX_DUPLICATES}`,
      [normalisedEmail(rfi.customerEmail), from, to, rfi.id, ...(domain === null ? [] : [domain, rfi.region, from, to, rfi.id])],
    );
  }
}
