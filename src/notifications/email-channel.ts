import type { DataSource } from "typeorm";
import type { NotificationsConfig } from "../config/index.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";
import { respondByOnEntering, ReferralStatus, type LifecycleWindows } from "../referrals/lifecycle.js";
import { Referral } from "../referrals/index.js";
import { Rfi } from "../rfis/index.js";
import { suggestPartners } from "../rfis/index.js";
import type { OutboxMessage } from "../outbox/index.js";
import type { OutboxChannel } from "../outbox/index.js";
import type { Locale } from "./locale.js";
import type { Mailer } from "./mailer.js";
import { EMAIL_CHANNEL, NotificationKind } from "./notification-kind.js";
import { renderEmail, type EmailContent } from "./templates.js";

/**
 * E-mails on the outbox: each message names its kind, referral (or webhook endpoint), recipient and
 * language; the content is read when it is sent. An alert says what the referral was when it arrived,
 * however late it is sent; a reminder is dropped once the referral is answered; a customer's suggestions
 * are the partners available when it is sent; a disabled endpoint's notice is dropped once the endpoint
 * is enabled again or deleted.
 */
/** What an e-mail about a referral is written from. */
interface ReferralWithRfi {
  referral: Referral;
  rfi: Rfi;
}

export class EmailChannel implements OutboxChannel<ReferralWithRfi> {
  readonly name = EMAIL_CHANNEL;
  readonly retryDelaysMs: readonly number[];
  /** One send per SMTP connection of the mailer's pool: a send never waits for a connection, which would eat its deadline. */
  readonly inFlight: number;
  private readonly reader: Queryable;
  private readonly referrals: EntityRows<Referral>;
  private readonly rfis: EntityRows<Rfi>;

  constructor(
    private readonly db: DataSource,
    private readonly mailer: Mailer,
    private readonly config: NotificationsConfig,
    private readonly windows: LifecycleWindows,
  ) {
    this.retryDelaysMs = config.retryDelaysMs;
    this.inFlight = mailer.connections;
    this.reader = poolReader(db);
    this.referrals = new EntityRows(db, Referral);
    this.rfis = new EntityRows(db, Rfi);
  }

  async deliver(message: OutboxMessage, deadline: AbortSignal, prepared?: ReferralWithRfi): Promise<"delivered" | "obsolete"> {
    const kind = message.kind as NotificationKind;
    const content =
      kind === NotificationKind.WEBHOOK_DISABLED
        ? await this.endpointContent(message)
        : await this.referralContent(kind, message, prepared);
    if (content === undefined) return "obsolete";
    const { subject, text, html } = renderEmail(content, message.locale as Locale);
    await this.mailer.send({ notificationId: message.id, to: message.recipient, subject, text, html }, deadline);
    return "delivered";
  }

  /** An endpoint's news, while it still holds: none once the endpoint is gone or enabled again. */
  private async endpointContent(message: OutboxMessage): Promise<EmailContent | undefined> {
    if (message.endpointId === null) return undefined;
    const [endpoint]: { url: string; disabled_reason: string | null; enabled: number }[] = await this.reader.query(
      "SELECT url, disabled_reason, enabled FROM webhook_endpoints WHERE id = ?",
      [message.endpointId],
    );
    if (endpoint === undefined || Number(endpoint.enabled) !== 0) return undefined;
    return {
      kind: NotificationKind.WEBHOOK_DISABLED,
      url: endpoint.url,
      reason: endpoint.disabled_reason ?? "",
      link: `${this.config.publicUrl}/`,
    };
  }

  /** The referrals (and their RFIs) the claim's e-mails are about, read together: by message id. */
  async prepare(messages: readonly OutboxMessage[]): Promise<Map<string, ReferralWithRfi>> {
    const about = messages.filter((message) => message.kind !== NotificationKind.WEBHOOK_DISABLED && message.referralId !== null);
    const read = about.length === 0 ? new Map() : await this.referralsWithRfis([...new Set(about.map((message) => message.referralId!))]);
    const prepared = new Map<string, ReferralWithRfi>();
    for (const message of about) {
      const found = read.get(message.referralId!);
      if (found) prepared.set(message.id, found);
    }
    return prepared;
  }

  private async referralContent(
    kind: NotificationKind,
    message: OutboxMessage,
    prepared: ReferralWithRfi | undefined,
  ): Promise<EmailContent | undefined> {
    if (message.referralId === null) return undefined;
    const found = prepared ?? (await this.referralsWithRfis([message.referralId])).get(message.referralId);
    return found && this.contentOf(kind, found.referral, found.rfi);
  }

  private async referralsWithRfis(ids: readonly string[]): Promise<Map<string, ReferralWithRfi>> {
    const rows = await this.reader.query(
      `SELECT ${this.referrals.selectList("r")}, ${this.rfis.selectList("f")} FROM referrals r JOIN rfis f ON f.id = r.rfi_id WHERE r.id IN (?)`,
      [ids],
    );
    const rfis = this.rfis.map(rows, "f");
    return new Map(this.referrals.map(rows, "r").map((referral, i) => [referral.id, { referral, rfi: rfis[i] }]));
  }

  private async contentOf(kind: NotificationKind, referral: Referral, rfi: Rfi): Promise<EmailContent | undefined> {
    const overview = { need: rfi.need, companySize: rfi.companySize, industry: rfi.industry, region: rfi.region, keywords: rfi.keywords };
    const link = `${this.config.publicUrl}/referrals/${referral.id}`;
    switch (kind) {
      case NotificationKind.NEW_REFERRAL:
        // The deadline it arrived with, even when it has moved on since.
        return { kind, overview, link, respondBy: respondByOnEntering(ReferralStatus.NEW, referral.receivedAt, this.windows)! };
      case NotificationKind.RESPONSE_REMINDER:
        if (referral.status !== ReferralStatus.NEW || referral.respondBy === null) return undefined;
        return { kind, overview, link, respondBy: referral.respondBy };
      case NotificationKind.CHOOSE_ANOTHER_PARTNER: {
        const suggestions = await suggestPartners(this.db.manager, rfi);
        return {
          kind,
          customerContactName: rfi.customerContactName,
          need: rfi.need,
          suggestions: suggestions.map(({ partner, profile }) => ({
            partnerName: partner.name,
            location: profile.location,
            region: profile.region,
            contactEmail: profile.contactEmail,
          })),
        };
      }
      case NotificationKind.WEBHOOK_DISABLED:
        return undefined; // About an endpoint, not a referral: endpointContent.
    }
  }
}
