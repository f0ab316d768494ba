import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { pagedListCost } from "../graphql/paging.js";
import { DeliveryStatus } from "../outbox/index.js";
import { Partner } from "../partners/index.js";
import { eventTypesOf, WebhookEndpoint } from "./webhook-endpoint.entity.js";
import { WebhookEventType } from "./webhook-event-type.js";
import { CreatedWebhookEndpoint, WebhookDelivery, WebhookDeliveryConnection, WebhookEndpointInput } from "./webhook.types.js";
import { partnerById } from "../partners/index.js";
import { WebhookService } from "./webhook.service.js";

@ArgsType()
class WebhookDeliveriesArgs {
  @Field(() => ID)
  endpointId: string;

  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;

  @Field(() => Int, { nullable: true, description: "Page size: 20 by default, at most 100." })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The endCursor of the previous page." })
  after?: string | null;
}

const PARTNER_OR_ADMIN = [Role.PARTNER, Role.ADMIN];

@Resolver(() => WebhookEndpoint)
export class WebhookEndpointResolver {
  constructor(private readonly webhooks: WebhookService) {}

  @Authorized(...PARTNER_OR_ADMIN)
  @Query(() => [WebhookEndpoint], { description: "PARTNER: its own endpoints; ADMIN: all." })
  webhookEndpoints(@Ctx() { caller }: RequestContext): Promise<WebhookEndpoint[]> {
    return this.webhooks.list(caller);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => CreatedWebhookEndpoint, {
    description: "PARTNER: for its own partner (partnerId ignored or equal); ADMIN: partnerId required.",
  })
  createWebhookEndpoint(
    @Arg("input", () => WebhookEndpointInput) input: WebhookEndpointInput,
    @Arg("partnerId", () => ID, { nullable: true }) partnerId: string | null,
    @Ctx() { caller }: RequestContext,
  ): Promise<CreatedWebhookEndpoint> {
    return this.webhooks.create(caller, input, partnerId);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => WebhookEndpoint, { description: "Enables or disables an endpoint; enabling resets its failure count." })
  setWebhookEndpointEnabled(
    @Arg("id", () => ID) id: string,
    @Arg("enabled", () => Boolean) enabled: boolean,
    @Ctx() { caller }: RequestContext,
  ): Promise<WebhookEndpoint> {
    return this.webhooks.setEnabled(caller, id, enabled);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Boolean)
  deleteWebhookEndpoint(@Arg("id", () => ID) id: string, @Ctx() { caller }: RequestContext): Promise<boolean> {
    return this.webhooks.delete(caller, id);
  }

  @FieldResolver(() => Partner)
  partner(@Root() endpoint: WebhookEndpoint, @Ctx() { loaders }: RequestContext) {
    return loaders.of(partnerById).get(endpoint.partnerId);
  }

  @FieldResolver(() => [WebhookEventType])
  events(@Root() endpoint: WebhookEndpoint): WebhookEventType[] {
    return eventTypesOf(endpoint);
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  constructor(private readonly webhooks: WebhookService) {}

  @Authorized(...PARTNER_OR_ADMIN)
  @Query(() => WebhookDeliveryConnection, {
    description: "Newest first. PARTNER: its own endpoints only.",
    complexity: pagedListCost,
  })
  webhookDeliveries(
    @Args(() => WebhookDeliveriesArgs) args: WebhookDeliveriesArgs,
    @Ctx() { caller }: RequestContext,
  ): Promise<WebhookDeliveryConnection> {
    return this.webhooks.deliveries(caller, args.endpointId, args);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => WebhookDelivery, {
    description:
      "Queues a new attempt of a delivery, with the same webhook-id: a SUCCEEDED or FAILED one, or one waiting for its retry, which is brought forward. Refused with BAD_USER_INPUT (delivery in progress) while an attempt of it is in flight, or while another delivery of its referral to the endpoint is pending.",
  })
  redeliverWebhook(@Arg("deliveryId", () => ID) deliveryId: string, @Ctx() { caller }: RequestContext): Promise<WebhookDelivery> {
    return this.webhooks.redeliver(caller, deliveryId);
  }

  /** The delivery was read through its endpoint, so the endpoint is the caller's to see. */
  @FieldResolver(() => WebhookEndpoint)
  async endpoint(@Root() delivery: WebhookDelivery, @Ctx() { caller }: RequestContext): Promise<WebhookEndpoint> {
    return this.webhooks.endpointOf(caller, delivery.endpointId);
  }
}
