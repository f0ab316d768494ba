import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import {
  createPartner,
  daysFromToday,
  referralIn,
  rfiInput,
  SUBMIT_RFI,
  submitRfi,
  uniqueName,
  type TestPartner,
} from "../support/fixtures.js";
import { type TestServer, useTestServer } from "../support/harness.js";
import { fitScoresSettled } from "../support/wait.js";

/*
 * Every row is one bad input as a client sends it (in variables), refused with exactly one
 * BAD_USER_INPUT error that names the field, and nothing written anywhere.
 */

const ACCEPT = `mutation($id: ID!, $input: AcceptReferralInput!) { acceptReferral(id: $id, input: $input) { id } }`;
const UPDATE_ESTIMATE = `mutation($id: ID!, $input: AcceptReferralInput!) { updateDealEstimate(id: $id, input: $input) { id } }`;
const MARK_WON = `mutation($id: ID!, $input: WonReferralInput) { markReferralWon(id: $id, input: $input) { id } }`;
const IGNORE = `mutation($id: ID!, $reason: String) { ignoreReferral(id: $id, reason: $reason) { id } }`;
const DECLINE = `mutation($id: ID!, $reason: String) { declineReferral(id: $id, reason: $reason) { id } }`;
const MARK_LOST = `mutation($id: ID!, $reason: String) { markReferralLost(id: $id, reason: $reason) { id } }`;
const SET_EXTERNAL_REFERENCE = `mutation($id: ID!, $ref: String) { setExternalReference(id: $id, externalReferenceId: $ref) { id } }`;
const CREATE_PARTNER = `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } } }`;
const ISSUE_KEY = `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { id } }`;
const UPSERT_PROFILE = `mutation($partnerId: ID!, $id: ID, $input: MarketingProfileInput!) {
  upsertMarketingProfile(partnerId: $partnerId, id: $id, input: $input) { id }
}`;

const GOOD_ESTIMATE = { estimatedDealValue: "50000.00", currency: "EUR", estimatedCloseDate: daysFromToday(60) };

/** Distinct keywords of exactly `length` characters. */
function keywords(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, i) => `kw${i}-`.padEnd(length, "x"));
}

interface Fixture {
  /** The partner whose key sends referral and profile mutations. */
  partner: TestPartner;
  /** A partner whose only active profile is in DE. */
  elsewhere: TestPartner;
  /** A partner whose only FR profile is inactive. */
  dormant: TestPartner;
  /** The row's referral, in the state the row asks for. */
  referralId: string;
  /** An idempotency key already used for a first RFI. */
  usedKey: string;
}

interface BadInputRow {
  /** What is sent, in words. */
  sends: string;
  /** Who sends it: the partner's own key, or the admin key. */
  as: "partner" | "admin";
  /** A fresh referral in this state is the row's target. */
  referralIn?: "NEW" | "EVALUATING" | "NEGOTIATING";
  query: string;
  variables: (fx: Fixture) => Record<string, unknown>;
  /** The field path the message must name. */
  field: string;
  /** What the message must also say: the problem, in the server's words. */
  says: string | ((fx: Fixture) => string);
}

const accept = (input: Record<string, unknown>) => (fx: Fixture) => ({ id: fx.referralId, input: { ...GOOD_ESTIMATE, ...input } });
const rfi = (input: Record<string, unknown>) => (fx: Fixture) => ({ input: { ...rfiInput({ partnerIds: [fx.partner.id] }), ...input } });
const customer = (fields: Record<string, unknown>) => (fx: Fixture) => {
  const base = rfiInput({ partnerIds: [fx.partner.id] });
  return { input: { ...base, customer: { ...base.customer, ...fields } } };
};
const profile =
  (input: Record<string, unknown>, update = false) =>
  (fx: Fixture) => ({
    partnerId: fx.partner.id,
    id: update ? fx.partner.profileId : null,
    input: {
      region: "FR",
      location: uniqueName("Lyon"),
      contactEmail: "sales@partner.example",
      keywords: ["erp"],
      preferredCompanySizes: [],
      ...input,
    },
  });

const NOT_A_DECIMAL = "must have at most 13 digits before the point and 2 after";

const ROWS: BadInputRow[] = [
  // Amounts
  {
    sends: "a negative amount at acceptance",
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: "-5.00" }),
    field: "input.estimatedDealValue",
    says: "Decimal must not be negative",
  },
  {
    sends: 'an amount with a decimal comma ("12,50")',
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: "12,50" }),
    field: "input.estimatedDealValue",
    says: NOT_A_DECIMAL,
  },
  {
    sends: 'an amount in exponent form ("1e5")',
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: "1e5" }),
    field: "input.estimatedDealValue",
    says: NOT_A_DECIMAL,
  },
  {
    sends: "an amount as a JSON number instead of a string",
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: 1250.5 }),
    field: "input.estimatedDealValue",
    says: "Decimal must be a string",
  },
  {
    sends: "an amount with 3 decimals",
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: "10.505" }),
    field: "input.estimatedDealValue",
    says: NOT_A_DECIMAL,
  },
  {
    sends: "an amount with 14 integer digits",
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedDealValue: "12345678901234.00" }),
    field: "input.estimatedDealValue",
    says: NOT_A_DECIMAL,
  },
  {
    sends: "an amount with 14 integer digits at updateDealEstimate",
    as: "partner",
    referralIn: "NEGOTIATING",
    query: UPDATE_ESTIMATE,
    variables: accept({ estimatedDealValue: "99999999999999" }),
    field: "input.estimatedDealValue",
    says: NOT_A_DECIMAL,
  },
  {
    sends: "a negative final deal value when won",
    as: "partner",
    referralIn: "NEGOTIATING",
    query: MARK_WON,
    variables: (fx) => ({ id: fx.referralId, input: { dealValue: "-1" } }),
    field: "input.dealValue",
    says: "Decimal must not be negative",
  },
  // Currency, country, e-mail, dates
  {
    sends: 'an unknown currency ("XYZ")',
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ currency: "XYZ" }),
    field: "input.currency",
    says: "not a valid currency value: XYZ",
  },
  {
    sends: 'an unknown currency ("XYZ") when won',
    as: "partner",
    referralIn: "NEGOTIATING",
    query: MARK_WON,
    variables: (fx) => ({ id: fx.referralId, input: { dealValue: "10.00", currency: "XYZ" } }),
    field: "input.currency",
    says: "not a valid currency value: XYZ",
  },
  {
    sends: 'an unknown RFI region ("ZZ")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ region: "ZZ" }),
    field: "input.region",
    says: "not a valid country code: ZZ",
  },
  {
    sends: 'an unknown profile region ("ZZ")',
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ region: "ZZ" }),
    field: "input.region",
    says: "not a valid country code: ZZ",
  },
  {
    sends: 'a customer e-mail without a domain ("a@b")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ email: "a@b" }),
    field: "input.customer.email",
    says: "not a deliverable e-mail address: a@b",
  },
  {
    sends: 'a customer e-mail without an @ ("not-an-email")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ email: "not-an-email" }),
    field: "input.customer.email",
    says: "not a valid email address: not-an-email",
  },
  {
    sends: 'a profile contact e-mail "not-an-email"',
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ contactEmail: "not-an-email" }),
    field: "input.contactEmail",
    says: "not a valid email address: not-an-email",
  },
  {
    sends: "an estimated close date in the past at acceptance",
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedCloseDate: daysFromToday(-1) }),
    field: "input.estimatedCloseDate",
    says: `must not be in the past (got ${daysFromToday(-1)})`,
  },
  {
    sends: "an estimated close date in the past at updateDealEstimate",
    as: "partner",
    referralIn: "NEGOTIATING",
    query: UPDATE_ESTIMATE,
    variables: accept({ estimatedCloseDate: daysFromToday(-30) }),
    field: "input.estimatedCloseDate",
    says: `must not be in the past (got ${daysFromToday(-30)})`,
  },
  {
    sends: 'a close date that is no date ("2030-13-01")',
    as: "partner",
    referralIn: "EVALUATING",
    query: ACCEPT,
    variables: accept({ estimatedCloseDate: "2030-13-01" }),
    field: "input.estimatedCloseDate",
    says: "LocalDate",
  },
  // Lengths and counts
  {
    sends: "a need of 5,001 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ need: "n".repeat(5001) }),
    field: "input.need",
    says: "shorter than or equal to 5000 characters",
  },
  {
    sends: "a customer company name of 201 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ companyName: "c".repeat(201) }),
    field: "input.customer.companyName",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "a customer contact name of 201 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ contactName: "c".repeat(201) }),
    field: "input.customer.contactName",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "a customer phone of 41 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ phone: `+${"1".repeat(40)}` }),
    field: "input.customer.phone",
    says: "shorter than or equal to 40 characters",
  },
  {
    sends: "an industry of 101 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ industry: "i".repeat(101) }),
    field: "input.industry",
    says: "shorter than or equal to 100 characters",
  },
  {
    sends: "a partner name of 201 characters",
    as: "admin",
    query: CREATE_PARTNER,
    variables: () => ({ input: { name: "p".repeat(201) } }),
    field: "input.name",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "a profile location of 201 characters",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ location: "l".repeat(201) }),
    field: "input.location",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "a profile location of two lines",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ location: "Paris\nCall +33 1 23 45 67 89" }),
    field: "input.location",
    says: "must be one line of text, without control characters",
  },
  {
    sends: "a profile update with a location holding a direction override",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ location: "Paris \u202Egnp.exe" }, true),
    field: "input.location",
    says: "must be one line of text, without control characters",
  },
  {
    sends: "a profile keyword with a tab",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ keywords: ["erp", "cloud\tdata"] }),
    field: "input.keywords",
    says: "must be one line of text, without control characters",
  },
  {
    sends: "a partner name with a line break",
    as: "admin",
    query: CREATE_PARTNER,
    variables: () => ({ input: { name: "Contoso\r\nURGENT" } }),
    field: "input.name",
    says: "must be one line of text, without control characters",
  },
  {
    sends: "a profile update with a location of 201 characters",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ location: "l".repeat(201) }, true),
    field: "input.location",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "an API key label of 201 characters",
    as: "admin",
    query: ISSUE_KEY,
    variables: () => ({ input: { role: "ANALYST", label: "k".repeat(201) } }),
    field: "input.label",
    says: "shorter than or equal to 200 characters",
  },
  {
    sends: "51 RFI keywords",
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ keywords: keywords(51, 10) }),
    field: "input.keywords",
    says: "must contain no more than 50 elements",
  },
  {
    sends: "51 profile keywords",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ keywords: keywords(51, 10) }),
    field: "input.keywords",
    says: "must contain no more than 50 elements",
  },
  {
    sends: "a profile update with 51 keywords",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ keywords: keywords(51, 10) }, true),
    field: "input.keywords",
    says: "must contain no more than 50 elements",
  },
  {
    sends: "an RFI keyword of 51 characters",
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ keywords: ["cloud", "k".repeat(51)] }),
    field: "input.keywords",
    says: "each value in keywords must be shorter than or equal to 50 characters",
  },
  {
    sends: "a profile keyword of 51 characters",
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ keywords: ["k".repeat(51)] }),
    field: "input.keywords",
    says: "each value in keywords must be shorter than or equal to 50 characters",
  },
  {
    sends: "a reason of 1,001 characters to ignore",
    as: "partner",
    referralIn: "NEW",
    query: IGNORE,
    variables: (fx) => ({ id: fx.referralId, reason: "r".repeat(1001) }),
    field: "reason",
    says: "must be at most 1000 characters (got 1001)",
  },
  {
    sends: "a reason of 1,001 characters to decline",
    as: "partner",
    referralIn: "EVALUATING",
    query: DECLINE,
    variables: (fx) => ({ id: fx.referralId, reason: "r".repeat(1001) }),
    field: "reason",
    says: "must be at most 1000 characters (got 1001)",
  },
  {
    sends: "a reason of 1,001 characters for a loss",
    as: "partner",
    referralIn: "NEGOTIATING",
    query: MARK_LOST,
    variables: (fx) => ({ id: fx.referralId, reason: "r".repeat(1001) }),
    field: "reason",
    says: "must be at most 1000 characters (got 1001)",
  },
  {
    sends: "an external reference id of 201 characters",
    as: "partner",
    referralIn: "EVALUATING",
    query: SET_EXTERNAL_REFERENCE,
    variables: (fx) => ({ id: fx.referralId, ref: "x".repeat(201) }),
    field: "externalReferenceId",
    says: "must be at most 200 characters (got 201)",
  },
  // Empty and blank required strings
  {
    sends: 'an empty need ("")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ need: "" }),
    field: "input.need",
    says: "must not be blank",
  },
  {
    sends: "a blank need (spaces and a newline)",
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ need: "  \n " }),
    field: "input.need",
    says: "must not be blank",
  },
  {
    sends: 'a blank customer company name ("   ")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ companyName: "   " }),
    field: "input.customer.companyName",
    says: "must not be blank",
  },
  {
    sends: 'an empty customer contact name ("")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: customer({ contactName: "" }),
    field: "input.customer.contactName",
    says: "must not be blank",
  },
  {
    sends: 'a blank partner name ("  ")',
    as: "admin",
    query: CREATE_PARTNER,
    variables: () => ({ input: { name: "  " } }),
    field: "input.name",
    says: "must not be blank",
  },
  {
    sends: 'an empty profile location ("")',
    as: "partner",
    query: UPSERT_PROFILE,
    variables: profile({ location: "" }),
    field: "input.location",
    says: "must not be blank",
  },
  {
    sends: 'a blank RFI keyword ("  ")',
    as: "admin",
    query: SUBMIT_RFI,
    variables: rfi({ keywords: ["cloud", "  "] }),
    field: "input.keywords",
    says: "must not be blank",
  },
  // Routing
  {
    sends: "maxPartners 0",
    as: "admin",
    query: SUBMIT_RFI,
    variables: () => ({ input: rfiInput({ maxPartners: 0 }) }),
    field: "input.maxPartners",
    says: "must not be less than 1",
  },
  {
    sends: "maxPartners 11",
    as: "admin",
    query: SUBMIT_RFI,
    variables: () => ({ input: rfiInput({ maxPartners: 11 }) }),
    field: "input.maxPartners",
    says: "must not be greater than 10",
  },
  {
    sends: "11 partnerIds",
    as: "admin",
    query: SUBMIT_RFI,
    variables: (fx) => ({ input: rfiInput({ partnerIds: [fx.partner.id, ...Array.from({ length: 10 }, (_, i) => String(900_000 + i))] }) }),
    field: "input.partnerIds",
    says: "must contain no more than 10 elements",
  },
  {
    sends: "a named partner whose only active profile is in another region",
    as: "admin",
    query: SUBMIT_RFI,
    variables: (fx) => ({ input: rfiInput({ partnerIds: [fx.elsewhere.id] }) }),
    field: "input.partnerIds",
    says: (fx) => `partner ${fx.elsewhere.id} has no active marketing profile in FR`,
  },
  {
    sends: "a named partner whose profile in the region is inactive, next to a good one",
    as: "admin",
    query: SUBMIT_RFI,
    variables: (fx) => ({ input: rfiInput({ partnerIds: [fx.partner.id, fx.dormant.id] }) }),
    field: "input.partnerIds",
    says: (fx) => `partner ${fx.dormant.id} has no active marketing profile in FR`,
  },
  {
    sends: "a named partner that does not exist",
    as: "admin",
    query: SUBMIT_RFI,
    variables: () => ({ input: rfiInput({ partnerIds: ["987654321"] }) }),
    field: "input.partnerIds",
    says: "partner 987654321 has no active marketing profile in FR",
  },
  // Idempotency
  {
    sends: "an idempotency key already used for a different RFI",
    as: "admin",
    query: SUBMIT_RFI,
    variables: (fx) => ({ input: rfiInput({ partnerIds: [fx.partner.id], idempotencyKey: fx.usedKey, need: "Something else entirely" }) }),
    field: "input.idempotencyKey",
    says: "was already used for a different RFI",
  },
];

const TABLES = ["partners", "marketing_profiles", "api_keys", "rfis", "referrals", "referral_events", "idempotency_records"];

/** Everything a refused request must leave as it was: row counts, table checksums, the target referral. */
async function snapshot(server: TestServer, referralId?: string) {
  // Fit scores of earlier decisions are rescored in the background: let that finish first.
  await fitScoresSettled(server);
  const { db } = server;
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(n);
  }
  const checksums = Object.fromEntries(
    ((await db.query(`CHECKSUM TABLE ${TABLES.join(", ")}`)) as { Table: string; Checksum: unknown }[]).map((row) => [
      row.Table.split(".").pop(),
      String(row.Checksum),
    ]),
  );
  // The sequencer places earlier events in the change feed meanwhile: what the events say is compared, not where they are placed.
  const events = await db.query(
    "SELECT id, referral_id, partner_id, version, action, at, from_status, to_status, actor, note FROM referral_events ORDER BY id",
  );
  checksums.referral_events = String(events.length);
  // Any use of a key records itself (lastUsedAt, at most once a minute): what the keys are is compared, not when they were used.
  checksums.api_keys = JSON.stringify(
    await db.query(
      "SELECT id, label, role, partner_id, secret_hash, from_environment, created_at, expires_at, revoked_at, revoked_by FROM api_keys ORDER BY id",
    ),
  );
  const [referral] = referralId ? await db.query("SELECT * FROM referrals WHERE id = ?", [referralId]) : [null];
  return { counts, checksums, events, referralVersion: referral?.version ?? null, referral };
}

/** Whether the message names the field: `input.need: …` from validation, `… at "input.need"; …` from a scalar. */
function namesField(message: string, field: string): boolean {
  return message.startsWith(`${field}: `) || message.includes(`at "${field}";`);
}

describe("graphql > bad input", () => {
  const server = useTestServer();
  const fx = {} as Fixture;

  before(async () => {
    fx.partner = await createPartner(server.current, uniqueName("Bad input partner"));
    fx.elsewhere = await createPartner(server.current, uniqueName("German partner"), { region: "DE", location: "Berlin" });
    fx.dormant = await createPartner(server.current, uniqueName("Dormant partner"), { active: false });
    fx.usedKey = uniqueName("rfi-key");
    await submitRfi(server.current.admin, { partnerIds: [fx.partner.id], idempotencyKey: fx.usedKey });
  });

  function sender(row: BadInputRow): GraphQLClient {
    return row.as === "partner" ? fx.partner.api : server.current.admin;
  }

  for (const row of ROWS) {
    it(`refuses ${row.sends} with BAD_USER_INPUT naming ${row.field}, and changes nothing`, async () => {
      fx.referralId = row.referralIn ? await referralIn(server.current, fx.partner, row.referralIn) : "";
      const before = await snapshot(server.current, fx.referralId || undefined);

      const { errors, data } = await sender(row).request(row.query, row.variables(fx));

      expect(data ?? null, "no data").to.equal(null);
      expect(errors, JSON.stringify(errors)).to.be.an("array").with.length(1);
      const [error] = errors!;
      expect(error.extensions?.code, error.message).to.equal("BAD_USER_INPUT");
      expect(namesField(error.message, row.field), `"${error.message}" names ${row.field}`).to.equal(true);
      expect(error.message).to.include(typeof row.says === "function" ? row.says(fx) : row.says);
      expect(await snapshot(server.current, fx.referralId || undefined)).to.deep.equal(before);
    });
  }

  it("refuses a malformed Decimal written as a literal in the query text, pointing at it", async () => {
    const id = await referralIn(server.current, fx.partner, "EVALUATING");
    const query = `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "12,50", currency: "EUR", estimatedCloseDate: "${daysFromToday(60)}" }) { id } }`;
    const before = await snapshot(server.current, id);
    const { status, errors, data } = await fx.partner.api.request(query, { id });
    expect(status).to.equal(400);
    expect(data ?? null).to.equal(null);
    expect(errors).to.deep.equal([
      {
        message: `Expected value of type "Decimal!", found "12,50"; Decimal ${NOT_A_DECIMAL}, such as "125000.50"`,
        locations: [{ line: 1, column: query.indexOf('"12,50"') + 1 }],
        extensions: { code: "BAD_USER_INPUT" },
      },
    ]);
    expect(await snapshot(server.current, id)).to.deep.equal(before);
  });

  it("refuses literal amounts, currencies and countries of the wrong form with BAD_USER_INPUT", async () => {
    const id = await referralIn(server.current, fx.partner, "EVALUATING");
    const date = daysFromToday(60);
    const literals = [
      `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: 12.5, currency: "EUR", estimatedCloseDate: "${date}" }) { id } }`,
      `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "-1", currency: "EUR", estimatedCloseDate: "${date}" }) { id } }`,
      `mutation($id: ID!) { acceptReferral(id: $id, input: { estimatedDealValue: "10.00", currency: "XYZ", estimatedCloseDate: "${date}" }) { id } }`,
      `query($id: ID!) { referral(id: $id) { id } referrals(filter: { region: "ZZ" }) { totalCount } }`,
    ];
    const before = await snapshot(server.current, id);
    for (const query of literals) {
      const { errors, data } = await fx.partner.api.request(query, { id });
      expect(data ?? null, query).to.equal(null);
      expect(
        errors?.map((e) => e.extensions?.code),
        query,
      ).to.deep.equal(["BAD_USER_INPUT"]);
      expect(errors![0].message, query).to.match(/^Expected value of type "(Decimal|Currency|CountryCode)!?", found /);
    }
    expect(await snapshot(server.current, id)).to.deep.equal(before);
  });

  it("accepts an amount of 13 integer digits and 2 decimals, and stores it exactly", async () => {
    const id = await referralIn(server.current, fx.partner, "EVALUATING");
    const { acceptReferral } = await fx.partner.api.data(
      `mutation($id: ID!, $input: AcceptReferralInput!) { acceptReferral(id: $id, input: $input) { estimatedDealValue { amount currency } } }`,
      { id, input: { ...GOOD_ESTIMATE, estimatedDealValue: "9999999999999.99", currency: "USD" } },
    );
    expect(acceptReferral.estimatedDealValue).to.deep.equal({ amount: "9999999999999.99", currency: "USD" });
    const [row] = await server.current.db.query("SELECT estimated_deal_value AS value FROM referrals WHERE id = ?", [id]);
    expect(String(row.value)).to.equal("9999999999999.99");
  });

  it("accepts today as the estimated close date, at acceptance and when revised", async () => {
    const today = daysFromToday(0);
    const id = await referralIn(server.current, fx.partner, "EVALUATING");
    for (const query of [ACCEPT, UPDATE_ESTIMATE]) {
      await fx.partner.api.data(query, { id, input: { ...GOOD_ESTIMATE, estimatedCloseDate: today } });
    }
    const { referral } = await fx.partner.api.data(`query($id: ID!) { referral(id: $id) { status estimatedCloseDate } }`, { id });
    expect(referral).to.deep.equal({ status: "NEGOTIATING", estimatedCloseDate: today });
  });

  it("accepts an RFI at every limit: a 5,000-character need, 200-character names, a 40-character phone, 50 keywords of 50 characters, 10 partners", async () => {
    const partners = [fx.partner];
    while (partners.length < 10) partners.push(await createPartner(server.current));
    const base = rfiInput({ partnerIds: partners.map((p) => p.id) });
    const input = {
      ...base,
      need: "n".repeat(5000),
      customer: { ...base.customer, companyName: "c".repeat(200), contactName: "a".repeat(200), phone: `+${"1".repeat(39)}` },
      industry: "i".repeat(100),
      keywords: keywords(50, 50),
    };
    const { submitRfi: submitted } = await server.current.admin.data(
      `mutation($input: SubmitRfiInput!) {
         submitRfi(input: $input) { referrals { id customer { companyName contactName email phone } overview { need industry keywords } } }
       }`,
      { input },
    );
    expect(submitted.referrals).to.have.length(10);
    const [first] = submitted.referrals;
    expect(first.overview).to.deep.equal({ need: input.need, industry: input.industry, keywords: input.keywords });
    expect(first.customer).to.deep.equal(input.customer);
  });

  it("accepts maxPartners 1 and 10 for automatic routing", async () => {
    const [{ n }] = await server.current.db.query(
      "SELECT COUNT(DISTINCT partner_id) AS n FROM marketing_profiles WHERE region = 'FR' AND active = 1",
    );
    for (const maxPartners of [1, 10]) {
      const { submitRfi: submitted } = await server.current.admin.data(SUBMIT_RFI, { input: rfiInput({ maxPartners }) });
      expect(submitted.referrals).to.have.length(Math.min(maxPartners, Number(n)));
    }
  });

  it("accepts names of 200 characters for a partner (its first key label cut to fit), a profile location and a key label, and 50 profile keywords of 50", async () => {
    const name = uniqueName("Long partner").padEnd(200, "p");
    const { createPartner: created } = await server.current.admin.data(
      `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id name } apiKey } }`,
      { input: { name } },
    );
    expect(created.partner.name).to.equal(name);
    const { me } = await server.current.client(created.apiKey).data(`{ me { role label } }`);
    expect(me).to.deep.equal({ role: "PARTNER", label: `${name.slice(0, 188)} (first key)` });
    const { upsertMarketingProfile } = await fx.partner.api.data(
      `mutation($partnerId: ID!, $input: MarketingProfileInput!) {
         upsertMarketingProfile(partnerId: $partnerId, input: $input) { location keywords }
       }`,
      profile({ location: uniqueName("Office").padEnd(200, "o"), keywords: keywords(50, 50) })(fx),
    );
    expect(upsertMarketingProfile.location).to.have.length(200);
    expect(upsertMarketingProfile.keywords).to.deep.equal(keywords(50, 50));
    const { issueApiKey } = await server.current.admin.data(
      `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) { label } }`,
      { input: { role: "ANALYST", label: "k".repeat(200) } },
    );
    expect(issueApiKey.label).to.equal("k".repeat(200));
  });

  it("accepts a reason of 1,000 characters and an external reference id of 200", async () => {
    const id = await referralIn(server.current, fx.partner, "NEW");
    await fx.partner.api.data(SET_EXTERNAL_REFERENCE, { id, ref: "x".repeat(200) });
    await fx.partner.api.data(IGNORE, { id, reason: "r".repeat(1000) });
    const { referral } = await fx.partner.api.data(`query($id: ID!) { referral(id: $id) { status reason externalReferenceId } }`, { id });
    expect(referral).to.deep.equal({ status: "IGNORED", reason: "r".repeat(1000), externalReferenceId: "x".repeat(200) });
  });

  it("replays an RFI retried with its idempotency key and the same input, creating nothing new", async () => {
    const input = rfiInput({ partnerIds: [fx.partner.id], idempotencyKey: uniqueName("replay-key") });
    const first = await server.current.admin.data(SUBMIT_RFI, { input });
    const before = await snapshot(server.current);
    const again = await server.current.admin.data(SUBMIT_RFI, { input });
    expect(again.submitRfi.rfi.id).to.equal(first.submitRfi.rfi.id);
    expect(await snapshot(server.current)).to.deep.equal(before);
  });
});
