import type { DataSource } from "typeorm";
import { canActForPartner, partnerScope, type Caller } from "../graphql/caller.js";
import type { WebhooksConfig } from "../config/index.js";
import { EntityRows, type Queryable } from "../db/entity-rows.js";
import { idCursors, isRowId } from "../db/ids.js";
import { poolReader } from "../db/pool.js";
import { badInput, forbidden, notFound } from "../graphql/errors.js";
import { EMAIL_CHANNEL } from "../notifications/index.js";
import { writeWebhookDisabledNotices } from "../notifications/index.js";
import { DeliveryStatus, OutboxMessage } from "../outbox/index.js";
import { requestedPageSize } from "../graphql/paging.js";
import { checkWebhookUrl } from "./safe-url.js";
import { newSigningSecret } from "./webhook-channel.js";
import { WebhookEndpoint } from "./webhook-endpoint.entity.js";
import type { WebhookEventType } from "./webhook-event-type.js";
import { WEBHOOK_CHANNEL } from "./webhook-writer.js";
import type { CreatedWebhookEndpoint, WebhookDelivery, WebhookDeliveryConnection, WebhookEndpointInput } from "./webhook.types.js";

/** Endpoints one partner may have: enough for a CRM and a few tools, not a fan-out amplifier. */
export const MAX_ENDPOINTS_PER_PARTNER = 10;

const cursors = idCursors("delivery");

function deliveryOf(message: OutboxMessage): WebhookDelivery {
  return {
    id: message.id,
    endpointId: message.endpointId!,
    eventType: message.kind as WebhookEventType,
    referralId: message.referralId!,
    status: message.status,
    attempts: message.attempts,
    lastAttemptAt: message.lastAttemptAt,
    nextAttemptAt: message.status === DeliveryStatus.PENDING ? message.nextAttemptAt : null,
    lastResponseStatus: message.lastResponseStatus,
    createdAt: message.createdAt,
  } as WebhookDelivery;
}

/** How often successes clear an endpoint's failure record at most, per instance. */
const HEALTH_RECHECK_MS = 1000;

/**
 * Partners' webhook endpoints and their deliveries. A PARTNER key sees and manages its own partner's
 * only; another partner's endpoint or delivery is NOT_FOUND, as an unknown one is. Deliveries are
 * written by the change feed's sequencer (webhook-writer.ts) and sent by the outbox relay.
 */
export class WebhookService {
  private readonly endpoints: EntityRows<WebhookEndpoint>;
  private readonly messages: EntityRows<OutboxMessage>;
  private readonly reader: Queryable;
  /** When a success last cleared each endpoint's failure record on this instance. */
  private readonly clearedAt = new Map<string, number>();
  /** Starts the relay of a channel (set once the relay exists). */
  private nudge: (channel: string) => void = () => undefined;

  constructor(
    private readonly db: DataSource,
    private readonly config: WebhooksConfig,
  ) {
    this.endpoints = new EntityRows(db, WebhookEndpoint);
    this.messages = new EntityRows(db, OutboxMessage);
    this.reader = poolReader(db);
  }

  relayWith(nudge: (channel: string) => void): void {
    this.nudge = nudge;
  }

  async create(caller: Caller, input: WebhookEndpointInput, partnerId: string | null | undefined): Promise<CreatedWebhookEndpoint> {
    const owner = await this.ownerFor(caller, partnerId);
    const url = await checkWebhookUrl(input.url.trim(), this.config.allowPrivateUrls);
    const secret = newSigningSecret();
    const id = await this.db.transaction(async (em) => {
      // The partner's row, locked: concurrent creations count one after the other.
      await em.query("SELECT id FROM partners WHERE id = ? FOR UPDATE", [owner]);
      const [{ count }] = await em.query("SELECT COUNT(*) AS count FROM webhook_endpoints WHERE partner_id = ?", [owner]);
      if (Number(count) >= MAX_ENDPOINTS_PER_PARTNER) {
        throw badInput("input.url", `a partner has at most ${MAX_ENDPOINTS_PER_PARTNER} webhook endpoints; delete one first`);
      }
      const result = await em.query(
        "INSERT INTO webhook_endpoints (partner_id, url, events, secret, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)",
        [owner, url, [...new Set(input.events)].sort().join(","), secret, new Date()],
      );
      return String((result as { insertId: number }).insertId);
    });
    return { endpoint: (await this.find(caller, id))!, secret };
  }

  list(caller: Caller): Promise<WebhookEndpoint[]> {
    const scope = partnerScope(caller);
    return this.endpoints.select(
      this.reader,
      "w",
      scope === undefined ? "ORDER BY w.id" : "WHERE w.partner_id = ? ORDER BY w.id",
      scope === undefined ? [] : [scope],
    );
  }

  /** Enabling clears the failure record; disabling stops its pending deliveries. */
  async setEnabled(caller: Caller, id: string, enabled: boolean): Promise<WebhookEndpoint> {
    const endpoint = await this.visible(caller, id);
    if (enabled) {
      await this.db.query("UPDATE webhook_endpoints SET enabled = 1, disabled_reason = NULL, failing_since = NULL WHERE id = ?", [id]);
    } else {
      await this.disable(endpoint.id, `disabled by ${caller.label}`, false);
    }
    return (await this.find(caller, id))!;
  }

  async delete(caller: Caller, id: string): Promise<boolean> {
    await this.visible(caller, id);
    // Its deliveries go with it (ON DELETE CASCADE); one in flight finds it gone and is dropped.
    await this.db.query("DELETE FROM webhook_endpoints WHERE id = ?", [id]);
    return true;
  }

  async deliveries(
    caller: Caller,
    endpointId: string,
    filter: { status?: DeliveryStatus | null; first?: number | null; after?: string | null },
  ): Promise<WebhookDeliveryConnection> {
    await this.visible(caller, endpointId);
    const size = requestedPageSize(filter.first);
    const conditions = ["o.endpoint_id = ?", "o.channel = ?"];
    const parameters: unknown[] = [endpointId, WEBHOOK_CHANNEL];
    if (filter.status != null) {
      conditions.push("o.status = ?");
      parameters.push(filter.status);
    }
    if (filter.after) {
      conditions.push("o.id < ?");
      parameters.push(cursors.decode(filter.after));
    }
    const found = await this.messages.select(this.reader, "o", `WHERE ${conditions.join(" AND ")} ORDER BY o.id DESC LIMIT ?`, [
      ...parameters,
      size + 1,
    ]);
    const edges = found.slice(0, size).map((message) => ({ cursor: cursors.encode(message.id), node: deliveryOf(message) }));
    return { edges, pageInfo: { hasNextPage: found.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /**
   * A new attempt soon, with the same id; the schedule of retries goes on from its attempts so far. A
   * delivery waiting for its retry has it brought forward. Refused while an attempt of it is in flight
   * (it would be sent twice at once), and, for one that is no longer pending, while another delivery
   * of its referral to the endpoint is pending (it would overtake it).
   */
  async redeliver(caller: Caller, deliveryId: string): Promise<WebhookDelivery> {
    const delivery = isRowId(deliveryId) ? await this.delivery(deliveryId) : undefined;
    if (!delivery) throw notFound(`webhook delivery ${deliveryId}`);
    const endpoint = await this.visible(caller, delivery.endpointId!, `webhook delivery ${deliveryId}`);
    const refusal = await this.db.transaction(async (em): Promise<string | undefined> => {
      // Locked first: redeliveries to the endpoint go one at a time, and no new delivery to it is
      // written meanwhile (its foreign key waits), so what is pending below stays so until commit.
      const [locked]: { enabled: number }[] = await em.query("SELECT enabled FROM webhook_endpoints WHERE id = ? FOR UPDATE", [
        endpoint.id,
      ]);
      if (!locked) throw notFound(`webhook delivery ${deliveryId}`);
      if (Number(locked.enabled) !== 1) return `endpoint ${endpoint.id} is disabled; enable it first`;
      // Locked: a claim of the relay skips it meanwhile, or one that holds it commits first and its lease shows.
      const [row]: { status: DeliveryStatus; leaseToken: string | null; leaseEnd: Date }[] = await em.query(
        "SELECT status, lease_token AS leaseToken, next_attempt_at AS leaseEnd FROM outbox_messages WHERE id = ? AND channel = ? FOR UPDATE",
        [deliveryId, WEBHOOK_CHANNEL],
      );
      if (!row) throw notFound(`webhook delivery ${deliveryId}`);
      const now = new Date();
      const leased = row.leaseToken !== null && row.leaseEnd > now;
      if (leased) return "delivery in progress: an attempt of it is under way; try again once it has ended";
      if (row.status !== DeliveryStatus.PENDING) {
        const [pending]: { id: string }[] = await em.query(
          "SELECT CAST(id AS CHAR) AS id FROM outbox_messages WHERE endpoint_id = ? AND referral_id = ? AND status = ? AND id <> ? LIMIT 1",
          [endpoint.id, delivery.referralId, DeliveryStatus.PENDING, deliveryId],
        );
        if (pending) return `delivery in progress: delivery ${pending.id} of the same referral is pending, and this one would overtake it`;
      }
      await em.query("UPDATE outbox_messages SET status = ?, next_attempt_at = ?, lease_token = NULL WHERE id = ?", [
        DeliveryStatus.PENDING,
        now,
        deliveryId,
      ]);
      return undefined;
    });
    if (refusal !== undefined) throw badInput("deliveryId", refusal);
    this.nudge(WEBHOOK_CHANNEL);
    return deliveryOf((await this.delivery(deliveryId))!);
  }

  /**
   * After each attempt: a success clears the endpoint's failure record; a failure starts it, and once
   * the endpoint has failed for WEBHOOK_DISABLE_AFTER it is disabled and its contacts are told.
   */
  async attempted(message: OutboxMessage, failure: unknown): Promise<void> {
    const id = message.endpointId!;
    const now = new Date();
    if (failure === undefined) {
      // A busy endpoint succeeds many times a second: its record is cleared once per HEALTH_RECHECK_MS
      // at most (a failure noted meanwhile on another instance is cleared at the next), not each time.
      if ((this.clearedAt.get(id) ?? 0) > now.getTime() - HEALTH_RECHECK_MS) return;
      await this.db.query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL", [id]);
      this.clearedAt.set(id, now.getTime());
      return;
    }
    this.clearedAt.delete(id);
    await this.db.query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?", [now, id]);
    const [endpoint] = await this.endpoints.select(this.reader, "w", "WHERE w.id = ?", [id]);
    if (!endpoint?.enabled || endpoint.failingSince === null) return;
    if (now.getTime() - endpoint.failingSince.getTime() < this.config.disableAfterMs) return;
    const last = (failure as { message?: string }).message ?? "no answer";
    await this.disable(id, `failing since ${endpoint.failingSince.toISOString()} (last attempt: ${last})`.slice(0, 500), true);
  }

  /** Disables an endpoint once: its pending deliveries become FAILED, and, when `notify`, its contacts get an e-mail. */
  private async disable(id: string, reason: string, notify: boolean): Promise<void> {
    const disabled = await this.db.transaction(async (em) => {
      const { affectedRows } = await em.query(
        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ? WHERE id = ? AND enabled = 1",
        [reason, id],
      );
      if (!affectedRows) return false;
      await em.query(
        "UPDATE outbox_messages SET status = ?, lease_token = NULL, last_error = 'endpoint disabled' WHERE endpoint_id = ? AND channel = ? AND status = ?",
        [DeliveryStatus.FAILED, id, WEBHOOK_CHANNEL, DeliveryStatus.PENDING],
      );
      if (notify) {
        const [{ partnerId }] = await em.query("SELECT CAST(partner_id AS CHAR) AS partnerId FROM webhook_endpoints WHERE id = ?", [id]);
        await writeWebhookDisabledNotices(em, id, partnerId, new Date());
      }
      return true;
    });
    if (disabled && notify) this.nudge(EMAIL_CHANNEL);
  }

  /** A delivery's endpoint, for the caller that read the delivery. */
  endpointOf(caller: Caller, id: string): Promise<WebhookEndpoint> {
    return this.visible(caller, id);
  }

  /** The endpoint when the caller may see it; NOT_FOUND (naming `what`) otherwise, whether it exists or not. */
  private async visible(caller: Caller, id: string, what = `webhook endpoint ${id}`): Promise<WebhookEndpoint> {
    const endpoint = isRowId(id) ? await this.find(caller, id) : undefined;
    if (!endpoint) throw notFound(what);
    return endpoint;
  }

  private async find(caller: Caller, id: string): Promise<WebhookEndpoint | undefined> {
    const [endpoint] = await this.endpoints.select(this.reader, "w", "WHERE w.id = ?", [id]);
    return endpoint && canActForPartner(caller, endpoint.partnerId) ? endpoint : undefined;
  }

  private async delivery(id: string): Promise<OutboxMessage | undefined> {
    const [message] = await this.messages.select(this.reader, "o", "WHERE o.id = ? AND o.channel = ?", [id, WEBHOOK_CHANNEL]);
    return message;
  }

  /** The partner an endpoint is created for: a PARTNER key's own; ADMIN must name one. */
  private async ownerFor(caller: Caller, partnerId: string | null | undefined): Promise<string> {
    const scope = partnerScope(caller);
    if (scope !== undefined) {
      if (partnerId != null && partnerId !== scope) throw forbidden("a PARTNER key creates endpoints for its own partner only");
      return scope;
    }
    if (partnerId == null) throw badInput("partnerId", "is required with an ADMIN key");
    const [partner] = isRowId(partnerId) ? await this.reader.query("SELECT id FROM partners WHERE id = ?", [partnerId]) : [];
    if (!partner) throw notFound(`partner ${partnerId}`);
    return partnerId;
  }
}
