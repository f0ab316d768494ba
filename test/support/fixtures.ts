import { expect } from "chai";
import type { GraphQLClient } from "./client.js";
import type { TestServer } from "./harness.js";
import { fitScoresSettled } from "./wait.js";

export interface TestPartner {
  id: string;
  name: string;
  profileId: string;
  /** A client with this partner's PARTNER key. */
  api: GraphQLClient;
}

export interface ProfileOptions {
  region?: string;
  location?: string;
  keywords?: string[];
  preferredCompanySizes?: string[];
  active?: boolean;
  contactEmail?: string;
  locale?: "EN" | "FR";
}

let serial = 0;
/** A name no other test has used in this run. */
export function uniqueName(prefix: string): string {
  serial += 1;
  return `${prefix} ${process.pid}-${serial}`;
}

export async function createPartner(server: TestServer, name = uniqueName("Partner"), profile: ProfileOptions = {}): Promise<TestPartner> {
  const { createPartner: created } = await server.admin.data(
    `mutation($name: String!) { createPartner(input: { name: $name }) { partner { id name } apiKey } }`,
    { name },
  );
  const { upsertMarketingProfile } = await server.admin.data(
    `mutation($partnerId: ID!, $input: MarketingProfileInput!) {
       upsertMarketingProfile(partnerId: $partnerId, input: $input) { id }
     }`,
    {
      partnerId: created.partner.id,
      input: {
        region: profile.region ?? "FR",
        location: profile.location ?? "Paris",
        contactEmail: profile.contactEmail ?? "referrals@partner.example",
        locale: profile.locale,
        keywords: profile.keywords ?? ["cloud", "data"],
        preferredCompanySizes: profile.preferredCompanySizes ?? [],
        active: profile.active ?? true,
      },
    },
  );
  return { id: created.partner.id, name, profileId: upsertMarketingProfile.id, api: server.client(created.apiKey) };
}

export async function issueKey(server: TestServer, role: string, partnerId?: string): Promise<GraphQLClient> {
  const { issueApiKey } = await server.admin.data(`mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { secret } }`, {
    input: { role, partnerId, label: uniqueName(`${role} key`) },
  });
  return server.client(issueApiKey.secret);
}

export interface RfiOptions {
  partnerIds?: string[];
  region?: string;
  keywords?: string[];
  companySize?: string;
  maxPartners?: number;
  idempotencyKey?: string;
  need?: string;
  locale?: "EN" | "FR";
  customerEmail?: string;
}

export function rfiInput(options: RfiOptions = {}) {
  return {
    customer: {
      companyName: "Fabrikam",
      contactName: "Ann Lee",
      email: options.customerEmail ?? "ann@fabrikam.example",
      phone: "+33 1 23 45 67 89",
    },
    need: options.need ?? "Move our ERP to the cloud",
    companySize: options.companySize ?? "SIZE_50_TO_249",
    industry: "Manufacturing",
    region: options.region ?? "FR",
    keywords: options.keywords ?? ["cloud"],
    partnerIds: options.partnerIds,
    maxPartners: options.maxPartners,
    idempotencyKey: options.idempotencyKey,
    locale: options.locale,
  };
}

export const SUBMIT_RFI = `mutation($input: SubmitRfiInput!) {
  submitRfi(input: $input) { rfi { id } referrals { id status version partner { id } } }
}`;

/** Submits an RFI as `submitter` (an INTAKE or ADMIN client) and returns the referral ids in partner order. */
export async function submitRfi(submitter: GraphQLClient, options: RfiOptions = {}): Promise<{ rfiId: string; referralIds: string[] }> {
  const { submitRfi: submitted } = await submitter.data(SUBMIT_RFI, { input: rfiInput(options) });
  return { rfiId: submitted.rfi.id, referralIds: submitted.referrals.map((r: { id: string }) => r.id) };
}

/** A referral for `partner`, in NEW. */
export async function newReferral(server: TestServer, partner: TestPartner): Promise<string> {
  const { referralIds } = await submitRfi(server.admin, { partnerIds: [partner.id] });
  return referralIds[0];
}

export const REFERRAL_FIELDS = `id status stage archived version respondBy reason externalReferenceId closedAt
  estimatedDealValue { amount currency } estimatedCloseDate finalDealValue { amount currency } finalCloseDate
  customer { companyName email }
  events { action from to actor note }`;

/** What the rfis tests read of each referral that submitRfi or extendRfi creates. */
export const ROUTED_REFERRAL_FIELDS = `id status version receivedAt respondBy
  partner { id }
  profile { id region active }
  events { action from to actor note }`;

export interface RoutedReferral {
  id: string;
  status: string;
  version: number;
  receivedAt: string;
  respondBy: string;
  partner: { id: string };
  profile: { id: string; region: string; active: boolean };
  events: { action: string; from: string | null; to: string; actor: string; note: string | null }[];
}

/** A date `days` from today (UTC), as YYYY-MM-DD. */
export function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

const ACCEPT = `acceptReferral(id: $id, input: { estimatedDealValue: "50000.00", currency: "EUR", estimatedCloseDate: "${daysFromToday(60)}" }) { id }`;

/** Drives a new referral of `partner` along the happy path until it reaches `status`. */
export async function referralIn(server: TestServer, partner: TestPartner, status: string): Promise<string> {
  const id = await newReferral(server, partner);
  const steps: Record<string, string[]> = {
    NEW: [],
    EVALUATING: ["expressInterest(id: $id) { id }"],
    NEGOTIATING: ["expressInterest(id: $id) { id }", ACCEPT],
    WON: ["expressInterest(id: $id) { id }", ACCEPT, "markReferralWon(id: $id) { id }"],
    LOST: ["expressInterest(id: $id) { id }", ACCEPT, "markReferralLost(id: $id) { id }"],
    IGNORED: ["ignoreReferral(id: $id) { id }"],
    DECLINED: ["expressInterest(id: $id) { id }", "declineReferral(id: $id) { id }"],
  };
  for (const step of steps[status]) {
    await partner.api.data(`mutation($id: ID!) { ${step} }`, { id });
  }
  return id;
}

/** Adds a marketing profile to an existing partner (as ADMIN) and returns its id. */
export async function addProfile(server: TestServer, partnerId: string, profile: ProfileOptions = {}): Promise<string> {
  const { upsertMarketingProfile } = await server.admin.data(
    `mutation($partnerId: ID!, $input: MarketingProfileInput!) {
       upsertMarketingProfile(partnerId: $partnerId, input: $input) { id }
     }`,
    {
      partnerId,
      input: {
        region: profile.region ?? "FR",
        location: profile.location ?? uniqueName("Office"),
        contactEmail: "referrals@partner.example",
        keywords: profile.keywords ?? ["cloud", "data"],
        preferredCompanySizes: profile.preferredCompanySizes ?? [],
        active: profile.active ?? true,
      },
    },
  );
  return upsertMarketingProfile.id;
}

export interface IssuedTestKey {
  id: string;
  role: string;
  label: string;
  secret: string;
  /** A client with this key. */
  api: GraphQLClient;
}

/** Issues a key as the admin and returns all of it: the id (for revokeApiKey), the label, the secret and a client. */
export async function issueKeyDetails(
  server: TestServer,
  role: string,
  partnerId?: string,
  label = uniqueName(`${role} key`),
): Promise<IssuedTestKey> {
  const { issueApiKey } = await server.admin.data(
    `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { id role label secret } }`,
    { input: { role, partnerId, label } },
  );
  return { ...issueApiKey, api: server.client(issueApiKey.secret) };
}

const APPLICATION_TABLES = [
  "partners",
  "marketing_profiles",
  "api_keys",
  "rfis",
  "idempotency_records",
  "referrals",
  "referral_events",
  "partner_counters",
  "fit_rescoring",
  "outbox_messages",
  "webhook_endpoints",
];

/** The columns that say what a table holds, leaving out what background jobs touch without changing it. */
const STABLE_COLUMNS: Record<string, [columns: string, order: string]> = {
  // A rescoring run may hold its lease for a moment while it finds nothing to do.
  fit_rescoring: ["partner_id, scored_revision", "1"],
  // The relay sends earlier messages meanwhile: which messages exist is what a change decides.
  outbox_messages: ["id, channel, kind, dedupe_key, referral_id, recipient, locale", "1"],
  // The sequencer places committed events in the change feed meanwhile.
  referral_events: ["id, referral_id, partner_id, version, action, at, from_status, to_status, actor, note", "1"],
  // Any use of a key, refused or not, records itself (at most once a minute) off the request's path.
  api_keys: ["id, label, role, partner_id, secret_hash, from_environment, created_at, expires_at, revoked_at, revoked_by", "1"],
};

/** Every row of the application's tables, in key order: compare two of them to prove nothing changed. */
export async function snapshotTables(server: TestServer, tables: string[] = APPLICATION_TABLES): Promise<Record<string, unknown[]>> {
  // Rescoring after earlier decisions, and placing earlier changes (with the e-mails they call for),
  // run in the background, held back after a burst of requests: let them finish first.
  await fitScoresSettled(server);
  await server.sequencer.settle();
  const snapshot: Record<string, unknown[]> = {};
  for (const table of tables) {
    const [columns, order] = STABLE_COLUMNS[table] ?? ["*", "1, 2, 3"];
    snapshot[table] = await server.db.query(`SELECT ${columns} FROM ${table} ORDER BY ${order}`);
  }
  return snapshot;
}

/** `count` overdue NEW referrals of `partner`, written straight to the tables as a server that was down would leave them. */
export async function insertOverdue(
  db: Pick<TestServer["db"], "query">,
  partner: Pick<TestPartner, "id" | "profileId">,
  marker: string,
  count: number,
): Promise<void> {
  for (let done = 0; done < count; done += 5000) {
    const n = Math.min(5000, count - done);
    await db.query(
      `INSERT INTO rfis (need, company_size, region, keywords, customer_company_name, customer_contact_name, customer_email, submitted_at)
       VALUES ${Array.from({ length: n }, () => "(?, 'SIZE_1_TO_9', 'FR', '[]', 'Fabrikam', 'Ann Lee', 'ann@fabrikam.example', NOW(3))").join(", ")}`,
      Array.from({ length: n }, () => marker),
    );
  }
  await db.query(
    `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at, respond_by)
     SELECT id, ?, ?, 'FR', 'SIZE_1_TO_9', 'NEW', 1, NOW(3) - INTERVAL 1 HOUR, NOW(3) - INTERVAL 1 HOUR, NOW(3) - INTERVAL 1 MINUTE
     FROM rfis WHERE need = ?`,
    [partner.id, partner.profileId, marker],
  );
}

/** Fails, naming the table and showing its rows, when any table differs from `before` (a snapshotTables). */
export async function expectTablesUnchanged(server: TestServer, before: Record<string, unknown[]>): Promise<void> {
  const after = await snapshotTables(server, Object.keys(before));
  for (const table of Object.keys(before)) {
    expect(JSON.stringify(after[table]), `${table} changed`).to.equal(JSON.stringify(before[table]));
  }
}

/** A referral as submitRfi answered it, or as the table holds it. */
interface ReferralRow {
  id: string;
  rfiId: string;
  partnerId: string;
  profileId: string;
}

/**
 * What submitRfi answered for each referral of `answers`, and what the table holds for the same RFIs,
 * both in id order: equal when every referral was answered with its own row.
 */
export async function answeredAndStored(
  server: TestServer,
  answers: readonly { rfi: { id: string }; referrals: readonly { id: string; partner: { id: string }; profile: { id: string } }[] }[],
): Promise<{ answered: ReferralRow[]; stored: ReferralRow[] }> {
  const stored: ReferralRow[] = await server.db.query(
    `SELECT CAST(id AS CHAR) AS id, CAST(rfi_id AS CHAR) AS rfiId, CAST(partner_id AS CHAR) AS partnerId,
       CAST(profile_id AS CHAR) AS profileId FROM referrals WHERE rfi_id IN (?)`,
    [answers.map(({ rfi }) => rfi.id)],
  );
  const answered = answers.flatMap(({ rfi, referrals }) =>
    referrals.map((referral) => ({ id: referral.id, rfiId: rfi.id, partnerId: referral.partner.id, profileId: referral.profile.id })),
  );
  const byId = (a: ReferralRow, b: ReferralRow) => Number(a.id) - Number(b.id);
  return { answered: answered.sort(byId), stored: stored.sort(byId) };
}
