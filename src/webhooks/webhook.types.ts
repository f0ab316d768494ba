import { ArrayMaxSize, ArrayMinSize, MaxLength } from "class-validator";
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../graphql/scalars.js";
import { DeliveryStatus } from "../outbox/index.js";
import { PageInfo } from "../graphql/paging.js";
import { WebhookEndpoint } from "./webhook-endpoint.entity.js";
import { WebhookEventType } from "./webhook-event-type.js";

export const MAX_URL_LENGTH = 2048;

@InputType()
export class WebhookEndpointInput {
  @Field(() => String, { description: "https in production; see the server's configuration for local addresses." })
  @MaxLength(MAX_URL_LENGTH)
  url: string;

  @Field(() => [WebhookEventType])
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  events: WebhookEventType[];
}

@ObjectType({ simpleResolvers: true })
export class CreatedWebhookEndpoint {
  @Field(() => WebhookEndpoint)
  endpoint: WebhookEndpoint;

  @Field(() => String, { description: "The Standard Webhooks signing secret (whsec_ + base64). Shown once." })
  secret: string;
}

@ObjectType({ simpleResolvers: true })
export class WebhookDelivery {
  @Field(() => ID, { description: "Also the webhook-id header of every attempt: receivers deduplicate on it." })
  id: string;

  @Field(() => WebhookEndpoint)
  endpoint: WebhookEndpoint;

  endpointId: string;

  @Field(() => WebhookEventType)
  eventType: WebhookEventType;

  @Field(() => ID)
  referralId: string;

  @Field(() => DeliveryStatus)
  status: DeliveryStatus;

  @Field(() => Int)
  attempts: number;

  @Field(() => DateTimeScalar, { nullable: true })
  lastAttemptAt: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  nextAttemptAt: Date | null;

  @Field(() => Int, { nullable: true, description: "HTTP status of the last attempt; null when it got no answer." })
  lastResponseStatus: number | null;

  @Field(() => DateTimeScalar)
  createdAt: Date;
}

@ObjectType({ simpleResolvers: true })
export class WebhookDeliveryEdge {
  @Field(() => String)
  cursor: string;

  @Field(() => WebhookDelivery)
  node: WebhookDelivery;
}

@ObjectType({ simpleResolvers: true })
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge])
  edges: WebhookDeliveryEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}
