import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import type { DataSource } from "typeorm";
import type { WebhooksConfig } from "../config/index.js";
import type { Queryable } from "../db/entity-rows.js";
import { poolReader } from "../db/pool.js";
import { encodeCursor } from "../change-feed/index.js";
import { DeliveryStatus, type OutboxMessage } from "../outbox/index.js";
import { DeliveryFailure, type DeliveryResult, type OutboxChannel } from "../outbox/index.js";
import { assertPublicTarget, publicOnlyLookup } from "./safe-url.js";
import { bodyTypeOf, type WebhookEventType } from "./webhook-event-type.js";
import { WEBHOOK_CHANNEL } from "./webhook-writer.js";

/** Deliveries in flight at once per instance, and to one endpoint. */
const IN_FLIGHT = 16;
const PER_ENDPOINT = 2;
const USER_AGENT = "partner-referrals-webhooks/1";

/** A new Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

interface Target {
  /** The delivery (outbox message) it is for. */
  messageId: string;
  url: string;
  secret: string;
  referralId: string;
  status: string;
  version: number;
  batch: string;
  eventId: string;
  at: Date;
}

/** What the endpoint is told: a thin body; the receiver reads the details through the API with its key. */
export function webhookBody(type: WebhookEventType, target: Omit<Target, "messageId" | "url" | "secret">): string {
  return JSON.stringify({
    type: bodyTypeOf(type),
    timestamp: target.at.toISOString(),
    data: {
      referralId: target.referralId,
      status: target.status,
      version: target.version,
      cursor: encodeCursor({ batch: Number(target.batch), id: target.eventId }),
    },
  });
}

/**
 * Webhooks on the outbox, in the Standard Webhooks format: `webhook-id` is the delivery's id (the same
 * on every attempt: receivers deduplicate on it), `webhook-timestamp` the attempt's second, and
 * `webhook-signature` `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the endpoint's secret. A
 * 2xx within the timeout is success; redirects are not followed. Each referral's deliveries to an
 * endpoint go in order (the next waits while one is pending), and an endpoint has at most PER_ENDPOINT
 * in flight per instance, so a slow one never holds the others up.
 */
export class WebhookChannel implements OutboxChannel<Target> {
  readonly name = WEBHOOK_CHANNEL;
  readonly inFlight = IN_FLIGHT;
  readonly perRecipient = PER_ENDPOINT;
  readonly claimableWhen = `EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = o.endpoint_id AND w.enabled = 1)
    AND NOT EXISTS (SELECT 1 FROM outbox_messages p WHERE p.endpoint_id = o.endpoint_id AND p.referral_id = o.referral_id
                    AND p.status = '${DeliveryStatus.PENDING}' AND p.id < o.id)`;
  readonly retryDelaysMs: readonly number[];
  private readonly reader: Queryable;

  constructor(
    db: DataSource,
    private readonly config: WebhooksConfig,
    /** Told of every attempt, for the endpoint's health (webhook.service.ts). */
    readonly attempted: (message: OutboxMessage, failure: unknown) => Promise<void>,
  ) {
    this.retryDelaysMs = config.retryDelaysMs;
    this.reader = poolReader(db);
  }

  /** The endpoints and events of the claim's deliveries, read together: by message id. */
  async prepare(messages: readonly OutboxMessage[]): Promise<Map<string, Target>> {
    return new Map((await this.targets(messages)).map((target) => [target.messageId, target]));
  }

  async deliver(message: OutboxMessage, deadline: AbortSignal, prepared?: Target): Promise<DeliveryResult> {
    const [target] = prepared ? [prepared] : await this.targets([message]);
    // The endpoint was deleted meanwhile.
    if (!target) return "obsolete";
    const body = webhookBody(message.kind as WebhookEventType, target);
    const id = message.id;
    const now = new Date();
    const headers = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(target.secret).sign(id, now, body),
    };
    const status = await this.post(target.url, headers, body, deadline);
    if (status < 200 || status > 299) throw new DeliveryFailure(`the endpoint answered HTTP ${status}`, status);
    return { responseStatus: status };
  }

  /** The endpoint and event of each message, one row per message whose endpoint still exists. */
  private targets(messages: readonly OutboxMessage[]): Promise<Target[]> {
    return this.reader.query(
      `SELECT CAST(o.id AS CHAR) AS messageId, w.url, w.secret, CAST(e.referral_id AS CHAR) AS referralId, e.to_status AS status,
              e.version, CAST(e.feed_batch AS CHAR) AS batch, CAST(e.id AS CHAR) AS eventId, e.at
       FROM outbox_messages o JOIN webhook_endpoints w ON w.id = o.endpoint_id JOIN referral_events e ON e.id = o.event_id
       WHERE o.id IN (?)`,
      [messages.map((message) => message.id)],
    );
  }

  /**
   * POSTs and answers the response's status; throws when there is none within the timeout. The request
   * is destroyed when `deadline` aborts, whatever the timeout.
   */
  private post(url: string, headers: Record<string, string>, body: string, deadline: AbortSignal): Promise<number> {
    const target = new URL(url);
    const strict = !this.config.allowPrivateUrls;
    if (strict) assertPublicTarget(target);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        target,
        {
          method: "POST",
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
          signal: deadline,
          // A name resolved again now must still be public: its DNS answer may have changed since it was checked.
          ...(strict ? { lookup: publicOnlyLookup } : {}),
        },
        (response: IncomingMessage) => {
          resolve(response.statusCode ?? 0);
          // The body says nothing we use: it is read and dropped (until the timeout at most) so the connection can close.
          response.resume();
          response.on("error", () => undefined);
        },
      );
      const timer = setTimeout(
        () => request.destroy(new DeliveryFailure(`no answer within ${this.config.timeoutMs} ms`)),
        this.config.timeoutMs,
      );
      request.on("close", () => clearTimeout(timer));
      request.on("error", (error) =>
        reject(
          error instanceof DeliveryFailure
            ? error
            : new DeliveryFailure(`no answer: ${(error as NodeJS.ErrnoException).code ?? error.name}`),
        ),
      );
      request.end(body);
    });
  }
}
