import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { pagedListCost } from "../graphql/paging.js";
import { DeliveryStatus } from "../outbox/outbox-message.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { eventTypesOf, WebhookEndpoint } from "./webhook-endpoint.entity.js";
import { WebhookEventType } from "./webhook-event-type.js";
import { CreatedWebhookEndpoint, WebhookDelivery, WebhookDeliveryConnection, WebhookEndpointInput } from "./webhook.types.js";

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
  @Authorized(...PARTNER_OR_ADMIN)
  @Query(() => [WebhookEndpoint], { description: "PARTNER: its own endpoints; ADMIN: all." })
  webhookEndpoints(@Ctx() { caller, services }: RequestContext): Promise<WebhookEndpoint[]> {
    return services.webhooks.list(caller);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => CreatedWebhookEndpoint, {
    description: "PARTNER: for its own partner (partnerId ignored or equal); ADMIN: partnerId required.",
  })
  createWebhookEndpoint(
    @Arg("input", () => WebhookEndpointInput) input: WebhookEndpointInput,
    @Arg("partnerId", () => ID, { nullable: true }) partnerId: string | null,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<CreatedWebhookEndpoint> {
    return services.webhooks.create(caller, input, partnerId);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => WebhookEndpoint, { description: "Enables or disables an endpoint; enabling resets its failure count." })
  setWebhookEndpointEnabled(
    @Arg("id", () => ID) id: string,
    @Arg("enabled", () => Boolean) enabled: boolean,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<WebhookEndpoint> {
    return services.webhooks.setEnabled(caller, id, enabled);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => Boolean)
  deleteWebhookEndpoint(@Arg("id", () => ID) id: string, @Ctx() { caller, services }: RequestContext): Promise<boolean> {
    return services.webhooks.delete(caller, id);
  }

  @FieldResolver(() => Partner)
  partner(@Root() endpoint: WebhookEndpoint, @Ctx() { loaders }: RequestContext) {
    return loaders.partner.get(endpoint.partnerId);
  }

  @FieldResolver(() => [WebhookEventType])
  events(@Root() endpoint: WebhookEndpoint): WebhookEventType[] {
    return eventTypesOf(endpoint);
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @Authorized(...PARTNER_OR_ADMIN)
  @Query(() => WebhookDeliveryConnection, {
    description: "Newest first. PARTNER: its own endpoints only.",
    complexity: pagedListCost,
  })
  webhookDeliveries(
    @Args(() => WebhookDeliveriesArgs) args: WebhookDeliveriesArgs,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<WebhookDeliveryConnection> {
    return services.webhooks.deliveries(caller, args.endpointId, args);
  }

  @Authorized(...PARTNER_OR_ADMIN)
  @Mutation(() => WebhookDelivery, {
    description:
      "Queues a new attempt of a delivery, with the same webhook-id: a SUCCEEDED or FAILED one, or one waiting for its retry, which is brought forward. Refused with BAD_USER_INPUT (delivery in progress) while an attempt of it is in flight, or while another delivery of its referral to the endpoint is pending.",
  })
  redeliverWebhook(@Arg("deliveryId", () => ID) deliveryId: string, @Ctx() { caller, services }: RequestContext): Promise<WebhookDelivery> {
    return services.webhooks.redeliver(caller, deliveryId);
  }

  /** The delivery was read through its endpoint, so the endpoint is the caller's to see. */
  @FieldResolver(() => WebhookEndpoint)
  async endpoint(@Root() delivery: WebhookDelivery, @Ctx() { caller, services }: RequestContext): Promise<WebhookEndpoint> {
    return services.webhooks.endpointOf(caller, delivery.endpointId);
  }
}
