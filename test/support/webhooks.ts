import type { GraphQLClient } from "./client.js";

export const CREATE_ENDPOINT = `mutation($url: String!, $events: [WebhookEventType!]!, $partnerId: ID) {
  createWebhookEndpoint(input: { url: $url, events: $events }, partnerId: $partnerId) { endpoint { id url events enabled partner { id } } secret }
}`;
export const DELIVERIES = `query($e: ID!, $status: DeliveryStatus) {
  webhookDeliveries(endpointId: $e, status: $status) {
    edges { node { id eventType referralId status attempts lastAttemptAt nextAttemptAt lastResponseStatus createdAt endpoint { id } } }
  }
}`;
const BOTH = ["REFERRAL_RECEIVED", "REFERRAL_UPDATED"];

export async function endpointFor(api: GraphQLClient, url: string, events = BOTH): Promise<{ id: string; secret: string }> {
  const { createWebhookEndpoint } = await api.data(CREATE_ENDPOINT, { url, events });
  return { id: createWebhookEndpoint.endpoint.id, secret: createWebhookEndpoint.secret };
}
