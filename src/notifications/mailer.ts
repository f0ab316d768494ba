import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import nodemailer, { type Transporter } from "nodemailer";
import type { NotificationsConfig } from "../config/index.js";

export interface Mail {
  /** The notification's id: the Message-ID derives from it, so a retry sends the same message. */
  notificationId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Each SMTP step's timeouts; a whole send is also aborted at the outbox's deadline (outbox/lease.ts). */
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;
/** Sends at once: one pooled connection each, so that no send waits for a connection. */
const SMTP_CONNECTIONS = 8;

/** The domain of `Name <address>` or `address`. */
function domainOf(from: string): string {
  const address = /<([^<>]+)>$/.exec(from)?.[1] ?? from;
  return address.slice(address.lastIndexOf("@") + 1);
}

/**
 * Sends e-mails through SMTP_URL (a pool of a few connections), or, when it is unset, writes each
 * as `notification-<id>.eml` to MAIL_DIR, so that a newcomer can open them.
 */
export class Mailer {
  /** Sends it takes at once, each on a connection of its own: the e-mail channel's slots. */
  readonly connections = SMTP_CONNECTIONS;
  private readonly transport: Transporter;
  /** Where e-mails are written when there is no SMTP server; undefined with one. */
  readonly directory: string | undefined;
  private readonly messageIdDomain: string;
  /** MAIL_DIR, made once, when the first e-mail is written. */
  private madeDirectory: Promise<unknown> | undefined;

  constructor(private readonly config: NotificationsConfig) {
    this.messageIdDomain = domainOf(config.mailFrom);
    if (config.smtpUrl) {
      this.transport = nodemailer.createTransport({
        url: config.smtpUrl,
        pool: true,
        maxConnections: SMTP_CONNECTIONS,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        greetingTimeout: CONNECTION_TIMEOUT_MS,
        socketTimeout: SOCKET_TIMEOUT_MS,
        // An aborted send's connection is destroyed at once, not ended politely: the server gets no
        // more of the message, and cannot take it as sent.
        socketCloseTimeout: 0,
      } as Parameters<typeof nodemailer.createTransport>[0]);
      this.directory = undefined;
    } else {
      this.transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
      this.directory = resolve(config.mailDir);
    }
  }

  /** Sends `mail`; when `signal` aborts, the send stops (its SMTP connection is closed) and this throws. */
  async send(mail: Mail, signal: AbortSignal): Promise<void> {
    const info = await this.transport.sendMail({
      from: this.config.mailFrom,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: `<notification-${mail.notificationId}@${this.messageIdDomain}>`,
      signal,
    });
    if (this.directory !== undefined) {
      // Written whole or not at all: a retry overwrites the same file.
      const file = join(this.directory, `notification-${mail.notificationId}.eml`);
      await (this.madeDirectory ??= mkdir(this.directory, { recursive: true }).catch((error: unknown) => {
        this.madeDirectory = undefined;
        throw error;
      }));
      await writeFile(`${file}.tmp`, (info as { message: Buffer }).message, { signal });
      await rename(`${file}.tmp`, file);
    }
  }

  close(): void {
    this.transport.close();
  }
}
