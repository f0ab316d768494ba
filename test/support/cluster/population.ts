import { CREATE_ENDPOINT } from "../webhooks.js";
import type { WebhookReceiver } from "../webhook-receiver.js";
import { post, type Gateway } from "./gateway.js";

/** A partner of the run: its keys (one for its front-end, one for its CRM), its profile's contact, its endpoint. */
export interface ClusterPartner {
  index: number;
  id: string;
  /** The front-end's PARTNER key: sockets, decisions, list reads. */
  key: string;
  /** The CRM's PARTNER key: referralChanges polling. */
  crmKey: string;
  contactEmail: string;
  endpointId: string;
  receiver: WebhookReceiver;
}

export interface Population {
  partners: ClusterPartner[];
  /** The marketplace's INTAKE key: submitRfi. */
  intakeKey: string;
}

async function must<T = Record<string, any>>(gateway: Gateway, key: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const answer = await post<T>(gateway, key, query, variables);
  if (!answer.data) throw new Error(`setup failed: ${answer.code} ${answer.message}`);
  return answer.data;
}

async function issueKey(gateway: Gateway, adminKey: string, role: string, label: string, partnerId?: string): Promise<string> {
  const { issueApiKey } = await must(gateway, adminKey, `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { secret } }`, {
    input: { role, partnerId, label },
  });
  return issueApiKey.secret;
}

/** One partner per receiver, each with an active profile in FR, its keys and a webhook endpoint for every change. */
export async function populate(gateway: Gateway, adminKey: string, receivers: readonly WebhookReceiver[]): Promise<Population> {
  const partners = await Promise.all(
    receivers.map(async (receiver, index) => {
      const { createPartner } = await must(
        gateway,
        adminKey,
        `mutation($name: String!) { createPartner(input: { name: $name }) { partner { id } apiKey } }`,
        { name: `Partner ${index + 1}` },
      );
      const id: string = createPartner.partner.id;
      const contactEmail = `partner-${index + 1}@partners.example`;
      await must(
        gateway,
        adminKey,
        `mutation($id: ID!, $input: MarketingProfileInput!) { upsertMarketingProfile(partnerId: $id, input: $input) { id } }`,
        {
          id,
          input: { region: "FR", location: `Office ${index + 1}`, contactEmail, keywords: ["cloud", "data"], preferredCompanySizes: [] },
        },
      );
      const { createWebhookEndpoint } = await must(gateway, adminKey, CREATE_ENDPOINT, {
        url: receiver.url,
        events: ["REFERRAL_RECEIVED", "REFERRAL_UPDATED"],
        partnerId: id,
      });
      const crmKey = await issueKey(gateway, adminKey, "PARTNER", `CRM of partner ${index + 1}`, id);
      return { index, id, key: createPartner.apiKey, crmKey, contactEmail, endpointId: createWebhookEndpoint.endpoint.id, receiver };
    }),
  );
  return { partners, intakeKey: await issueKey(gateway, adminKey, "INTAKE", "Marketplace") };
}
