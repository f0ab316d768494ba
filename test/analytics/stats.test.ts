import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import { createPartner, daysFromToday, issueKey, submitRfi, uniqueName, type TestPartner } from "../support/fixtures.js";
import { useTestServer, type TestServer } from "../support/harness.js";
import { random } from "../support/random.js";

/*
 * Every statistic is checked against a reference computed here, from the rows each block seeds
 * (straight into the tables, as the service would have left them), and against a few figures worked
 * out by hand. Decimals are compared as exact strings; money is added in BigInt cents.
 */

type Dimension = "MONTH" | "QUARTER" | "CLOSE_MONTH" | "REGION" | "PARTNER" | "STATUS" | "COMPANY_SIZE" | "INDUSTRY" | "REASON_CODE";
const DIMENSIONS: Dimension[] = [
  "MONTH",
  "QUARTER",
  "CLOSE_MONTH",
  "REGION",
  "PARTNER",
  "STATUS",
  "COMPANY_SIZE",
  "INDUSTRY",
  "REASON_CODE",
];
/** The coded reasons a LOST row is seeded with, in turn. */
const LOST_REASONS = ["BUDGET", "LOST_TO_COMPETITOR", "TIMING"];

type Status = "NEW" | "EVALUATING" | "NEGOTIATING" | "WON" | "LOST" | "IGNORED" | "MISSED" | "DECLINED" | "EXPIRED";
const VALUED: Status[] = ["NEGOTIATING", "WON", "LOST"];
const UNVALUED: Status[] = ["NEW", "EVALUATING", "IGNORED", "MISSED", "DECLINED", "EXPIRED"];

interface Deal {
  value: string;
  currency: string;
  closeDate: string;
}

/** A referral to seed. A value exists only once accepted (NEGOTIATING, WON, LOST). */
interface Spec {
  partner: TestPartner;
  status: Status;
  /** An instant, ISO 8601 in UTC. */
  receivedAt: string;
  region?: string;
  companySize?: string;
  /** null = the RFI named no industry. */
  industry?: string | null;
  /** The latest estimate. */
  estimate?: Deal;
  /** The close date estimated at acceptance; defaults to the latest estimate's. */
  acceptedCloseDate?: string;
  /** What was reported on winning (WON only). */
  final?: Deal;
}

interface Row {
  id: string;
  partnerId: string;
  status: Status;
  receivedAt: string;
  region: string;
  companySize: string;
  industry: string | null;
  estimate: Deal | null;
  acceptedCloseDate: string | null;
  final: Deal | null;
  reasonCode: string | null;
}

/** The deal as statistics count it: the final one when WON, else the latest estimate. */
function dealOf(row: Row): Deal | null {
  return row.status === "WON" ? row.final : row.estimate;
}

/** Inserts one RFI and one referral per spec, straight into the tables; returns the rows with their ids. */
async function seed(server: TestServer, specs: Spec[]): Promise<Row[]> {
  const marker = uniqueName("stats");
  const rows: Omit<Row, "id">[] = specs.map((spec, i) => {
    const valued = VALUED.includes(spec.status);
    if (valued !== (spec.estimate !== undefined))
      throw new Error(`a ${spec.status} referral ${valued ? "needs" : "cannot have"} an estimate`);
    if ((spec.status === "WON") !== (spec.final !== undefined)) throw new Error(`only a WON referral has final figures (${spec.status})`);
    return {
      partnerId: spec.partner.id,
      status: spec.status,
      receivedAt: new Date(spec.receivedAt).toISOString(),
      region: spec.region ?? "FR",
      companySize: spec.companySize ?? "SIZE_50_TO_249",
      industry: spec.industry === undefined ? "Manufacturing" : spec.industry,
      estimate: spec.estimate ?? null,
      acceptedCloseDate: spec.estimate ? (spec.acceptedCloseDate ?? spec.estimate.closeDate) : null,
      final: spec.final ?? null,
      reasonCode: spec.status === "LOST" ? LOST_REASONS[i % LOST_REASONS.length] : null,
    };
  });
  await server.db.query(
    `INSERT INTO rfis (need, company_size, industry, region, keywords, customer_company_name, customer_contact_name,
       customer_email, customer_phone, submitted_at, submitted_by_key_id)
     VALUES ${rows.map(() => "(?, ?, ?, ?, '[\"cloud\"]', 'Fabrikam', 'Ann Lee', 'ann@fabrikam.example', NULL, ?, NULL)").join(", ")}`,
    rows.flatMap((row, i) => [`${marker} #${i}`, row.companySize, row.industry, row.region, new Date(row.receivedAt)]),
  );
  const rfis: { id: unknown; need: string }[] = await server.db.query("SELECT id, need FROM rfis WHERE need LIKE ?", [`${marker} #%`]);
  const rfiIds = new Map(rfis.map((rfi) => [rfi.need, String(rfi.id)]));
  const profiles = new Map(specs.map((spec) => [spec.partner.id, spec.partner.profileId]));
  await server.db.query(
    `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, industry, status, version, received_at, updated_at,
       estimated_deal_value, estimated_currency, estimated_close_date, accepted_close_date,
       final_deal_value, final_currency, final_close_date, deal_value, deal_currency, deal_close_date, reason_code)
     VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
    rows.flatMap((row, i) => {
      const deal = dealOf(row as Row);
      const receivedAt = new Date(row.receivedAt);
      return [
        rfiIds.get(`${marker} #${i}`),
        row.partnerId,
        profiles.get(row.partnerId),
        row.region,
        row.companySize,
        row.industry,
        row.status,
        receivedAt,
        receivedAt,
        row.estimate?.value ?? null,
        row.estimate?.currency ?? null,
        row.estimate?.closeDate ?? null,
        row.acceptedCloseDate,
        row.final?.value ?? null,
        row.final?.currency ?? null,
        row.final?.closeDate ?? null,
        deal?.value ?? null,
        deal?.currency ?? null,
        deal?.closeDate ?? null,
        row.reasonCode,
      ];
    }),
  );
  const referrals: { id: unknown; rfi_id: unknown }[] = await server.db.query(
    "SELECT r.id, r.rfi_id FROM referrals r JOIN rfis f ON f.id = r.rfi_id WHERE f.need LIKE ?",
    [`${marker} #%`],
  );
  const ids = new Map(referrals.map((referral) => [String(referral.rfi_id), String(referral.id)]));
  const seeded = rows.map((row, i) => ({ ...row, id: ids.get(rfiIds.get(`${marker} #${i}`)!)! }));
  expect(new Set(seeded.map((row) => row.id)).size, "every spec seeded once").to.equal(specs.length);
  return seeded;
}

/** Arrivals either side of month, quarter and year boundaries (UTC). */
const ARRIVALS = [
  "2025-12-31T23:59:59.999Z",
  "2026-01-01T00:00:00.000Z",
  "2026-02-14T09:00:00.000Z",
  "2026-03-31T23:30:00.000Z",
  "2026-04-01T00:30:00.000Z",
  "2026-06-30T23:59:59.000Z",
  "2026-07-01T00:00:00.000Z",
];
const REGIONS = ["FR", "DE", "US"];
/**
 * Sizes whose order is the same byte by byte and in the column's collation (utf8mb4_unicode_ci puts
 * "_" before digits: SIZE_1_TO_9 sorts before SIZE_10_TO_49 there), so one comparator orders keys.
 */
const SIZES = ["SIZE_1_TO_9", "SIZE_250_TO_999", "SIZE_50_TO_249"];
const INDUSTRIES = ["Manufacturing", "Retail", null];
/** Few values, so that groups tie; the largest has 13 integer digits. */
const AMOUNTS = ["0.01", "100.00", "100.00", "250.50", "999.99", "1000.00", "12345.67", "9999999999999.99"];
const CURRENCIES = ["EUR", "EUR", "USD", "GBP"];
const CLOSE_DATES = ["2026-02-28", "2026-03-01", "2026-04-30", "2026-05-15", "2026-09-30", "2026-10-01"];

/** `count` referrals spread over `partners` and every dimension, a quarter of them never accepted. */
function generate(partners: TestPartner[], count: number, seed: number): Spec[] {
  const pick = random(seed);
  const choose = <T>(values: T[]): T => values[pick(values.length)];
  const deal = (): Deal => ({ value: choose(AMOUNTS), currency: choose(CURRENCIES), closeDate: choose(CLOSE_DATES) });
  return Array.from({ length: count }, (): Spec => {
    const status = pick(4) === 0 ? choose(UNVALUED) : choose(VALUED);
    const base = {
      partner: choose(partners),
      status,
      receivedAt: choose(ARRIVALS),
      region: choose(REGIONS),
      companySize: choose(SIZES),
      industry: choose(INDUSTRIES),
    };
    if (!VALUED.includes(status)) return base;
    return { ...base, estimate: deal(), acceptedCloseDate: choose(CLOSE_DATES), final: status === "WON" ? deal() : undefined };
  });
}

// ---------------------------------------------------------------------------------------------
// The reference implementation

interface Filter {
  receivedAfter?: string;
  receivedBefore?: string;
  regions?: string[];
  partnerIds?: string[];
  statuses?: string[];
}

interface Key {
  dimension: Dimension;
  value: string;
}

interface DealSizeRow {
  key: Key[];
  currency: string;
  count: number;
  total: string;
  average: string;
  min: string;
  median: string;
  p90: string;
  max: string;
}

interface CloseDateRow {
  key: Key[];
  count: number;
  earliest: string;
  latest: string;
  averageDaysToClose: number;
  medianDaysToClose: number;
  averageSlipDays: number | null;
}

const DAY = 86_400_000;

function cents(amount: string): bigint {
  const [units, fraction = ""] = amount.split(".");
  return BigInt(units) * 100n + BigInt(fraction.padEnd(2, "0"));
}

function decimal(value: bigint): string {
  return `${value / 100n}.${(value % 100n).toString().padStart(2, "0")}`;
}

/** total / count in cents, rounded half-up (amounts are never negative). */
function halfUpMean(total: bigint, count: number): bigint {
  const n = BigInt(count);
  const [quotient, remainder] = [total / n, total % n];
  return remainder * 2n >= n ? quotient + 1n : quotient;
}

/** The value at rank ceil(numerator / denominator × count) of values sorted ascending (integers only). */
function nearestRank<T>(sorted: T[], numerator: number, denominator: number): T {
  const rank = Math.floor((numerator * sorted.length + denominator - 1) / denominator);
  return sorted[rank - 1];
}

/** Calendar days from date `from` to date `to` (YYYY-MM-DD). */
function daysBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY;
}

const KEY_OF: Record<Dimension, (row: Row) => string> = {
  MONTH: (row) => row.receivedAt.slice(0, 7),
  QUARTER: (row) => `${row.receivedAt.slice(0, 4)}-Q${Math.ceil(Number(row.receivedAt.slice(5, 7)) / 3)}`,
  CLOSE_MONTH: (row) => dealOf(row)!.closeDate.slice(0, 7),
  REGION: (row) => row.region,
  PARTNER: (row) => row.partnerId,
  STATUS: (row) => row.status,
  COMPANY_SIZE: (row) => row.companySize,
  INDUSTRY: (row) => row.industry ?? "",
  REASON_CODE: (row) => row.reasonCode ?? "",
};

function matches(row: Row, filter: Filter): boolean {
  const at = Date.parse(row.receivedAt);
  return (
    (filter.receivedAfter === undefined || at >= Date.parse(filter.receivedAfter)) &&
    (filter.receivedBefore === undefined || at < Date.parse(filter.receivedBefore)) &&
    (filter.regions === undefined || filter.regions.includes(row.region)) &&
    (filter.partnerIds === undefined || filter.partnerIds.includes(row.partnerId)) &&
    (filter.statuses === undefined || filter.statuses.includes(row.status))
  );
}

function compareTuples(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** The matching rows with a deal, grouped by the dimensions' values (then `extra`), in ascending order of the group. */
function groupsOf(rows: Row[], filter: Filter, groupBy: Dimension[], extra: (row: Row) => string[]): { values: string[]; rows: Row[] }[] {
  const groups = new Map<string, { values: string[]; rows: Row[] }>();
  for (const row of rows) {
    if (dealOf(row) === null || !matches(row, filter)) continue;
    const values = [...groupBy.map((dimension) => KEY_OF[dimension](row)), ...extra(row)];
    const id = JSON.stringify(values);
    if (!groups.has(id)) groups.set(id, { values, rows: [] });
    groups.get(id)!.rows.push(row);
  }
  return [...groups.values()].sort((a, b) => compareTuples(a.values, b.values));
}

function expectedDealSizes(rows: Row[], filter: Filter = {}, groupBy: Dimension[] = []): DealSizeRow[] {
  return groupsOf(rows, filter, groupBy, (row) => [dealOf(row)!.currency]).map(({ values, rows: group }) => {
    const amounts = group.map((row) => cents(dealOf(row)!.value)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const total = amounts.reduce((sum, amount) => sum + amount, 0n);
    return {
      key: groupBy.map((dimension, i) => ({ dimension, value: values[i] })),
      currency: values[groupBy.length],
      count: amounts.length,
      total: decimal(total),
      average: decimal(halfUpMean(total, amounts.length)),
      min: decimal(amounts[0]),
      median: decimal(nearestRank(amounts, 1, 2)),
      p90: decimal(nearestRank(amounts, 9, 10)),
      max: decimal(amounts.at(-1)!),
    };
  });
}

function expectedCloseDates(rows: Row[], filter: Filter = {}, groupBy: Dimension[] = []): CloseDateRow[] {
  return groupsOf(rows, filter, groupBy, () => []).map(({ values, rows: group }) => {
    const dates = group.map((row) => dealOf(row)!.closeDate).sort();
    const days = group.map((row) => daysBetween(row.receivedAt.slice(0, 10), dealOf(row)!.closeDate)).sort((a, b) => a - b);
    const slips = group.filter((row) => row.status === "WON").map((row) => daysBetween(row.acceptedCloseDate!, row.final!.closeDate));
    return {
      key: groupBy.map((dimension, i) => ({ dimension, value: values[i] })),
      count: group.length,
      earliest: dates[0],
      latest: dates.at(-1)!,
      averageDaysToClose: days.reduce((sum, d) => sum + d, 0) / days.length,
      medianDaysToClose: nearestRank(days, 1, 2),
      averageSlipDays: slips.length === 0 ? null : slips.reduce((sum, d) => sum + d, 0) / slips.length,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The API, as analysts call it

const DEAL_SIZES = `query($filter: StatsFilter, $groupBy: [StatsDimension!]) {
  dealSizeStats(filter: $filter, groupBy: $groupBy) { key { dimension value } currency count total average min median p90 max }
}`;
const CLOSE_DATES_QUERY = `query($filter: StatsFilter, $groupBy: [StatsDimension!]) {
  closeDateStats(filter: $filter, groupBy: $groupBy) {
    key { dimension value } count earliest latest averageDaysToClose medianDaysToClose averageSlipDays
  }
}`;

async function dealSizes(client: GraphQLClient, filter?: Filter | null, groupBy?: Dimension[] | null): Promise<DealSizeRow[]> {
  const { dealSizeStats } = await client.data<{ dealSizeStats: DealSizeRow[] }>(DEAL_SIZES, { filter, groupBy });
  return dealSizeStats;
}

async function closeDates(client: GraphQLClient, filter?: Filter | null, groupBy?: Dimension[] | null): Promise<CloseDateRow[]> {
  const { closeDateStats } = await client.data<{ closeDateStats: CloseDateRow[] }>(CLOSE_DATES_QUERY, { filter, groupBy });
  return closeDateStats;
}

/** A deal-size row with every figure equal to the one amount (a single referral). */
function single(currency: string, amount: string, key: Key[] = []): DealSizeRow {
  return { key, currency, count: 1, total: amount, average: amount, min: amount, median: amount, p90: amount, max: amount };
}

const PAIRS: [Dimension, Dimension][] = DIMENSIONS.flatMap((a) =>
  DIMENSIONS.filter((b) => b !== a).map((b): [Dimension, Dimension] => [a, b]),
);

// ---------------------------------------------------------------------------------------------

describe("analytics > deal size statistics", () => {
  const server = useTestServer();
  let analyst: GraphQLClient;
  let rows: Row[];
  let delta: TestPartner;
  let epsilon: TestPartner;
  let zeta: TestPartner;

  /** Hand-worked figures, one region per case, all of partner epsilon. */
  const EPSILON: { region: string; amounts: [string, string][]; expected: Omit<DealSizeRow, "key">[] }[] = [
    {
      region: "BE", // two currencies in one group: never added
      amounts: [
        ["10.00", "EUR"],
        ["10.00", "USD"],
        ["20.01", "USD"],
      ],
      expected: [
        { currency: "EUR", count: 1, total: "10.00", average: "10.00", min: "10.00", median: "10.00", p90: "10.00", max: "10.00" },
        { currency: "USD", count: 2, total: "30.01", average: "15.01", min: "10.00", median: "10.00", p90: "20.01", max: "20.01" },
      ],
    },
    {
      region: "DE", // 10.00 / 3 = 3.333…
      amounts: [
        ["3.34", "EUR"],
        ["3.33", "EUR"],
        ["3.33", "EUR"],
      ],
      expected: [{ currency: "EUR", count: 3, total: "10.00", average: "3.33", min: "3.33", median: "3.33", p90: "3.34", max: "3.34" }],
    },
    {
      region: "ES", // odd count with ties: median at rank 3, p90 at rank ceil(4.5) = 5
      amounts: [
        ["20.00", "EUR"],
        ["50.00", "EUR"],
        ["20.00", "EUR"],
        ["10.00", "EUR"],
        ["20.00", "EUR"],
      ],
      expected: [
        { currency: "EUR", count: 5, total: "120.00", average: "24.00", min: "10.00", median: "20.00", p90: "50.00", max: "50.00" },
      ],
    },
    {
      region: "FR", // 0.05 / 2 = 0.025, half-up
      amounts: [
        ["0.03", "EUR"],
        ["0.02", "EUR"],
      ],
      expected: [{ currency: "EUR", count: 2, total: "0.05", average: "0.03", min: "0.02", median: "0.02", p90: "0.03", max: "0.03" }],
    },
    {
      region: "GB", // 13 integer digits: 19999999999999.97 / 2 = 9999999999999.985, half-up
      amounts: [
        ["9999999999999.98", "EUR"],
        ["9999999999999.99", "EUR"],
      ],
      expected: [
        {
          currency: "EUR",
          count: 2,
          total: "19999999999999.97",
          average: "9999999999999.99",
          min: "9999999999999.98",
          median: "9999999999999.98",
          p90: "9999999999999.99",
          max: "9999999999999.99",
        },
      ],
    },
    {
      region: "IT", // a total beyond 2^53 cents: 99999999999999.82 / 10 = 9999999999999.982
      amounts: [...Array.from({ length: 9 }, (): [string, string] => ["9999999999999.99", "EUR"]), ["9999999999999.91", "EUR"]],
      expected: [
        {
          currency: "EUR",
          count: 10,
          total: "99999999999999.82",
          average: "9999999999999.98",
          min: "9999999999999.91",
          median: "9999999999999.99",
          p90: "9999999999999.99",
          max: "9999999999999.99",
        },
      ],
    },
    {
      region: "NL", // a single referral
      amounts: [["123.45", "EUR"]],
      expected: [single("EUR", "123.45")],
    },
    {
      region: "PT", // even count: median at rank 2, p90 at rank ceil(3.6) = 4
      amounts: [
        ["40.00", "EUR"],
        ["10.00", "EUR"],
        ["30.00", "EUR"],
        ["20.00", "EUR"],
      ],
      expected: [
        { currency: "EUR", count: 4, total: "100.00", average: "25.00", min: "10.00", median: "20.00", p90: "40.00", max: "40.00" },
      ],
    },
    {
      region: "SE", // 1..10: nearest-rank median 5 (not 5.5), p90 9 (not the max)
      amounts: Array.from({ length: 10 }, (_, i): [string, string] => [`${10 - i}.00`, "EUR"]),
      expected: [{ currency: "EUR", count: 10, total: "55.00", average: "5.50", min: "1.00", median: "5.00", p90: "9.00", max: "10.00" }],
    },
    {
      region: "US", // 0.03 / 2 = 0.015, half-up
      amounts: [
        ["0.02", "EUR"],
        ["0.01", "EUR"],
      ],
      expected: [{ currency: "EUR", count: 2, total: "0.03", average: "0.02", min: "0.01", median: "0.01", p90: "0.02", max: "0.02" }],
    },
  ];

  before(async () => {
    const s = server.current;
    analyst = await issueKey(s, "ANALYST");
    const [alpha, beta, gamma] = [await createPartner(s), await createPartner(s), await createPartner(s)];
    delta = await createPartner(s);
    epsilon = await createPartner(s);
    zeta = await createPartner(s);
    const receivedAt = "2026-02-10T10:00:00.000Z";
    const estimate = (value: string, currency: string, closeDate = "2026-05-01"): Deal => ({ value, currency, closeDate });
    const specs: Spec[] = [
      ...generate([alpha, beta, gamma], 150, 20260301),
      // delta: WON at its final figures, LOST and NEGOTIATING at their latest estimates, the rest at none.
      { partner: delta, status: "WON", receivedAt, estimate: estimate("100.00", "EUR"), final: estimate("250.00", "USD", "2026-05-10") },
      { partner: delta, status: "LOST", receivedAt, estimate: estimate("70.00", "EUR", "2026-06-01"), acceptedCloseDate: "2026-05-01" },
      { partner: delta, status: "NEGOTIATING", receivedAt, estimate: estimate("30.00", "EUR") },
      ...UNVALUED.map((status): Spec => ({ partner: delta, status, receivedAt })),
      // epsilon: hand-worked cases, one region each.
      ...EPSILON.flatMap(({ region, amounts }) =>
        amounts.map(
          ([value, currency], i): Spec => ({
            partner: epsilon,
            status: VALUED[i % VALUED.length],
            receivedAt,
            region,
            estimate: estimate(value, currency),
            final: i % VALUED.length === 1 ? estimate(value, currency) : undefined,
          }),
        ),
      ),
      // zeta: arrivals either side of a month, a quarter and a year.
      ...[
        ["2026-03-31T23:30:00Z", "10.00"],
        ["2026-04-01T00:30:00Z", "20.00"],
        ["2025-12-31T23:59:59.999Z", "5.00"],
        ["2026-01-01T00:00:00Z", "7.00"],
      ].map(([at, value]): Spec => ({ partner: zeta, status: "NEGOTIATING", receivedAt: at, estimate: estimate(value, "EUR") })),
    ];
    rows = await seed(s, specs);
  });

  it("seeds odd and even groups, ties, single rows, unaccepted referrals and several currencies per group (the premise)", () => {
    const byMonthRegion = expectedDealSizes(rows, {}, ["MONTH", "REGION"]);
    const counts = byMonthRegion.map((row) => row.count);
    expect(counts.filter((count) => count === 1).length, "single rows").to.be.above(2);
    expect(counts.filter((count) => count >= 2 && count % 2 === 0).length, "even counts").to.be.above(2);
    expect(counts.filter((count) => count >= 3 && count % 2 === 1).length, "odd counts").to.be.above(2);
    expect(byMonthRegion.filter((row) => row.count > 1 && row.min === row.max).length, "groups of equal amounts").to.be.above(0);
    const keys = byMonthRegion.map((row) => JSON.stringify(row.key));
    expect(keys.filter((key) => keys.indexOf(key) !== keys.lastIndexOf(key)).length, "groups in several currencies").to.be.above(5);
    expect(rows.filter((row) => dealOf(row) === null).length, "referrals without a value").to.be.above(30);
    const wonElsewhere = rows.filter((row) => row.status === "WON" && row.final!.currency !== row.estimate!.currency);
    expect(wonElsewhere.length, "WON in another currency than estimated").to.be.above(5);
  });

  it("answers one row per currency, never adding currencies, when nothing is grouped", async () => {
    const answer = await dealSizes(analyst);
    expect(answer.map((row) => row.currency)).to.deep.equal(["EUR", "GBP", "USD"]);
    expect(answer).to.deep.equal(expectedDealSizes(rows));
  });

  for (const dimension of DIMENSIONS) {
    it(`groups by ${dimension} as computed from the rows, one row per value and currency`, async () => {
      const answer = await dealSizes(analyst, null, [dimension]);
      const expected = expectedDealSizes(rows, {}, [dimension]);
      expect(new Set(expected.map((row) => row.key[0].value)).size, "several values").to.be.above(1);
      expect(answer).to.deep.equal(expected);
    });
  }

  it("counts a WON referral at its final value and currency, a NEGOTIATING or LOST one at its latest estimate", async () => {
    expect(await dealSizes(analyst, { partnerIds: [delta.id] })).to.deep.equal([
      { key: [], currency: "EUR", count: 2, total: "100.00", average: "50.00", min: "30.00", median: "30.00", p90: "70.00", max: "70.00" },
      single("USD", "250.00"),
    ]);
    expect(await dealSizes(analyst, { partnerIds: [delta.id] }, ["STATUS"])).to.deep.equal([
      single("EUR", "70.00", [{ dimension: "STATUS", value: "LOST" }]),
      single("EUR", "30.00", [{ dimension: "STATUS", value: "NEGOTIATING" }]),
      single("USD", "250.00", [{ dimension: "STATUS", value: "WON" }]),
    ]);
  });

  it("does not count referrals that never had a value (NEW, EVALUATING, IGNORED, MISSED, DECLINED, EXPIRED)", async () => {
    expect(await dealSizes(analyst, { partnerIds: [delta.id], statuses: UNVALUED })).to.deep.equal([]);
    expect(await dealSizes(analyst, { statuses: UNVALUED }, ["STATUS"])).to.deep.equal([]);
    const counted = (await dealSizes(analyst)).reduce((sum, row) => sum + row.count, 0);
    expect(counted).to.equal(rows.filter((row) => VALUED.includes(row.status)).length);
  });

  it("takes nearest-rank medians and p90 over odd and even counts, ties and a single row", async () => {
    for (const region of ["ES", "PT", "SE", "NL"]) {
      const expected = EPSILON.find((c) => c.region === region)!.expected.map((row) => ({ key: [], ...row }));
      expect(await dealSizes(analyst, { partnerIds: [epsilon.id], regions: [region] }), region).to.deep.equal(expected);
    }
  });

  it("rounds averages half-up to cents (0.05 / 2 = 0.03, 10.00 / 3 = 3.33, 0.03 / 2 = 0.02, 30.01 / 2 = 15.01)", async () => {
    for (const region of ["FR", "DE", "US", "BE"]) {
      const expected = EPSILON.find((c) => c.region === region)!.expected.map((row) => ({ key: [], ...row }));
      expect(await dealSizes(analyst, { partnerIds: [epsilon.id], regions: [region] }), region).to.deep.equal(expected);
    }
  });

  it("keeps amounts of 13 integer digits exact in totals, averages and quantiles", async () => {
    for (const region of ["GB", "IT"]) {
      const expected = EPSILON.find((c) => c.region === region)!.expected.map((row) => ({ key: [], ...row }));
      expect(await dealSizes(analyst, { partnerIds: [epsilon.id], regions: [region] }), region).to.deep.equal(expected);
    }
  });

  it("answers every hand-worked case at once when grouped by REGION, in region then currency order", async () => {
    const expected = EPSILON.flatMap(({ region, expected: figures }) =>
      figures.map((row) => ({ ...row, key: [{ dimension: "REGION", value: region }] })),
    );
    expect(expectedDealSizes(rows, { partnerIds: [epsilon.id] }, ["REGION"]), "the reference agrees").to.deep.equal(expected);
    expect(await dealSizes(analyst, { partnerIds: [epsilon.id] }, ["REGION"])).to.deep.equal(expected);
  });

  it("puts arrivals in the UTC month and quarter of their instant, either side of a boundary", async () => {
    const month = (value: string, amount: string) => single("EUR", amount, [{ dimension: "MONTH", value }]);
    expect(await dealSizes(analyst, { partnerIds: [zeta.id] }, ["MONTH"])).to.deep.equal([
      month("2025-12", "5.00"),
      month("2026-01", "7.00"),
      month("2026-03", "10.00"),
      month("2026-04", "20.00"),
    ]);
    expect(await dealSizes(analyst, { partnerIds: [zeta.id] }, ["QUARTER"])).to.deep.equal([
      single("EUR", "5.00", [{ dimension: "QUARTER", value: "2025-Q4" }]),
      {
        key: [{ dimension: "QUARTER", value: "2026-Q1" }],
        currency: "EUR",
        count: 2,
        total: "17.00",
        average: "8.50",
        min: "7.00",
        median: "7.00",
        p90: "10.00",
        max: "10.00",
      },
      single("EUR", "20.00", [{ dimension: "QUARTER", value: "2026-Q2" }]),
    ]);
  });

  it("groups by two dimensions, keyed in the order asked", async () => {
    const monthRegion = await dealSizes(analyst, null, ["MONTH", "REGION"]);
    expect(monthRegion).to.deep.equal(expectedDealSizes(rows, {}, ["MONTH", "REGION"]));
    expect(monthRegion.every((row) => row.key.map((k) => k.dimension).join() === "MONTH,REGION")).to.equal(true);
    const regionMonth = await dealSizes(analyst, null, ["REGION", "MONTH"]);
    expect(regionMonth).to.deep.equal(expectedDealSizes(rows, {}, ["REGION", "MONTH"]));
    expect(regionMonth.every((row) => row.key.map((k) => k.dimension).join() === "REGION,MONTH")).to.equal(true);
    // The same groups either way, with the key reversed.
    const reversed = (list: DealSizeRow[]) => list.map((row) => JSON.stringify({ ...row, key: [...row.key].reverse() })).sort();
    expect(reversed(regionMonth)).to.deep.equal(monthRegion.map((row) => JSON.stringify(row)).sort());
  });

  it("groups by every ordered pair of dimensions as computed from the rows", async () => {
    for (const pair of PAIRS) {
      expect(await dealSizes(analyst, null, pair), pair.join(" and ")).to.deep.equal(expectedDealSizes(rows, {}, pair));
    }
  });

  it("groups by three dimensions with a filter", async () => {
    const filter = { regions: ["FR", "DE"], statuses: ["WON", "LOST"] };
    const groupBy: Dimension[] = ["QUARTER", "INDUSTRY", "STATUS"];
    const expected = expectedDealSizes(rows, filter, groupBy);
    expect(expected.length, "several groups").to.be.above(5);
    expect(await dealSizes(analyst, filter, groupBy)).to.deep.equal(expected);
  });

  it('reports a referral without an industry under the value ""', async () => {
    const answer = await dealSizes(analyst, null, ["INDUSTRY"]);
    expect([...new Set(answer.map((row) => row.key[0].value))]).to.deep.equal(["", "Manufacturing", "Retail"]);
    const withoutIndustry = rows.filter((row) => row.industry === null && dealOf(row) !== null).length;
    const counted = answer.filter((row) => row.key[0].value === "").reduce((sum, row) => sum + row.count, 0);
    expect(counted).to.equal(withoutIndustry).and.to.be.above(0);
  });

  it("orders rows by the key values in the order asked, then by currency", async () => {
    const answer = await dealSizes(analyst, null, ["MONTH", "REGION"]);
    const tuples = answer.map((row) => [...row.key.map((k) => k.value), row.currency]);
    expect(tuples).to.deep.equal([...tuples].sort(compareTuples));
    expect(new Set(tuples.map((t) => JSON.stringify(t))).size, "no combination twice").to.equal(tuples.length);
  });

  it("answers no row for a combination without referrals", async () => {
    // zeta's four referrals are all in FR, in four months: four rows, not four months × regions.
    const answer = await dealSizes(analyst, { partnerIds: [zeta.id] }, ["MONTH", "REGION"]);
    expect(answer.map((row) => row.key.map((k) => k.value).join(" "))).to.deep.equal([
      "2025-12 FR",
      "2026-01 FR",
      "2026-03 FR",
      "2026-04 FR",
    ]);
    const all = await dealSizes(analyst, null, ["MONTH", "REGION", "STATUS"]);
    expect(all.every((row) => row.count > 0)).to.equal(true);
    expect(all).to.deep.equal(expectedDealSizes(rows, {}, ["MONTH", "REGION", "STATUS"]));
  });

  it("answers [] when no referral matches, grouped or not", async () => {
    const filter = { receivedAfter: "2030-01-01T00:00:00Z" };
    expect(await dealSizes(analyst, filter)).to.deep.equal([]);
    expect(await dealSizes(analyst, filter, ["MONTH", "REGION"])).to.deep.equal([]);
  });

  it("treats a dimension asked twice as asked once", async () => {
    expect(await dealSizes(analyst, null, ["REGION", "MONTH", "REGION"])).to.deep.equal(expectedDealSizes(rows, {}, ["REGION", "MONTH"]));
  });
});

describe("analytics > close date statistics", () => {
  const server = useTestServer();
  let analyst: GraphQLClient;
  let rows: Row[];
  let eta: TestPartner;

  before(async () => {
    const s = server.current;
    analyst = await issueKey(s, "ANALYST");
    const [alpha, beta, gamma] = [await createPartner(s), await createPartner(s), await createPartner(s)];
    eta = await createPartner(s);
    const deal = (closeDate: string): Deal => ({ value: "1000.00", currency: "EUR", closeDate });
    const specs: Spec[] = [
      ...generate([alpha, beta, gamma], 150, 20260415),
      // Just before midnight UTC: 10 days to 2026-01-20 from the UTC date, whatever the hour.
      {
        partner: eta,
        status: "NEGOTIATING",
        receivedAt: "2026-01-10T23:59:00Z",
        region: "FR",
        estimate: deal("2026-01-20"),
        acceptedCloseDate: "2026-01-15",
      },
      {
        partner: eta,
        status: "LOST",
        receivedAt: "2026-01-10T00:00:00Z",
        region: "DE",
        estimate: deal("2026-02-09"),
        acceptedCloseDate: "2026-01-31",
      },
      // Won 4 days later than estimated at acceptance (5 days before the latest estimate): 31 days after arrival.
      {
        partner: eta,
        status: "WON",
        receivedAt: "2026-01-05T12:00:00Z",
        region: "FR",
        estimate: deal("2026-03-10"),
        acceptedCloseDate: "2026-02-01",
        final: deal("2026-02-05"),
      },
      // Won 9 days earlier than estimated: 31 days after arrival.
      {
        partner: eta,
        status: "WON",
        receivedAt: "2026-01-20T08:00:00Z",
        region: "DE",
        estimate: deal("2026-03-01"),
        acceptedCloseDate: "2026-03-01",
        final: deal("2026-02-20"),
      },
      // Closing the day it arrived.
      { partner: eta, status: "NEGOTIATING", receivedAt: "2026-02-01T00:00:00Z", region: "FR", estimate: deal("2026-02-01") },
      ...UNVALUED.map((status): Spec => ({ partner: eta, status, receivedAt: "2026-01-10T10:00:00Z" })),
    ];
    rows = await seed(s, specs);
  });

  it("seeds odd and even groups, won and unwon ones, single rows (the premise)", () => {
    const byMonthRegion = expectedCloseDates(rows, {}, ["MONTH", "REGION"]);
    const counts = byMonthRegion.map((row) => row.count);
    const singles = PAIRS.flatMap((pair) => expectedCloseDates(rows, {}, pair)).filter((row) => row.count === 1);
    expect(singles.length, "single rows among the pairs").to.be.above(5);
    expect(counts.filter((count) => count >= 2 && count % 2 === 0).length, "even counts").to.be.above(2);
    expect(counts.filter((count) => count >= 3 && count % 2 === 1).length, "odd counts").to.be.above(2);
    expect(byMonthRegion.filter((row) => row.averageSlipDays === null).length, "groups without a WON").to.be.above(0);
    expect(byMonthRegion.filter((row) => row.averageSlipDays !== null).length, "groups with a WON").to.be.above(2);
    const slipped = rows.filter((row) => row.status === "WON" && row.final!.closeDate !== row.acceptedCloseDate);
    expect(slipped.length, "WON referrals that slipped").to.be.above(5);
    const revised = rows.filter((row) => row.status === "WON" && row.estimate!.closeDate !== row.acceptedCloseDate);
    expect(revised.length, "WON referrals whose estimate was revised after acceptance").to.be.above(5);
  });

  it("answers count, earliest, latest, mean and median days and mean slip over every referral with a close date", async () => {
    const answer = await closeDates(analyst);
    expect(answer).to.have.length(1);
    expect(answer).to.deep.equal(expectedCloseDates(rows));
    expect(answer[0].count).to.equal(rows.filter((row) => VALUED.includes(row.status)).length);
  });

  for (const dimension of DIMENSIONS) {
    it(`groups by ${dimension} as computed from the rows`, async () => {
      const expected = expectedCloseDates(rows, {}, [dimension]);
      expect(expected.length, "several values").to.be.above(1);
      expect(await closeDates(analyst, null, [dimension])).to.deep.equal(expected);
    });
  }

  it("groups by two dimensions, keyed in the order asked", async () => {
    const monthRegion = await closeDates(analyst, null, ["MONTH", "REGION"]);
    expect(monthRegion).to.deep.equal(expectedCloseDates(rows, {}, ["MONTH", "REGION"]));
    expect(monthRegion.every((row) => row.key.map((k) => k.dimension).join() === "MONTH,REGION")).to.equal(true);
    const regionMonth = await closeDates(analyst, null, ["REGION", "MONTH"]);
    expect(regionMonth).to.deep.equal(expectedCloseDates(rows, {}, ["REGION", "MONTH"]));
    expect(regionMonth.every((row) => row.key.map((k) => k.dimension).join() === "REGION,MONTH")).to.equal(true);
  });

  it("groups by every ordered pair of dimensions as computed from the rows", async () => {
    for (const pair of PAIRS) {
      expect(await closeDates(analyst, null, pair), pair.join(" and ")).to.deep.equal(expectedCloseDates(rows, {}, pair));
    }
  });

  it("counts days from the UTC date of arrival to the close date, and takes the nearest-rank median", async () => {
    // Days: 10, 30, 31, 31, 0 → mean 20.4, sorted [0, 10, 30, 31, 31] → median at rank 3 = 30; slips +4 and −9.
    expect(await closeDates(analyst, { partnerIds: [eta.id] })).to.deep.equal([
      {
        key: [],
        count: 5,
        earliest: "2026-01-20",
        latest: "2026-02-20",
        averageDaysToClose: 20.4,
        medianDaysToClose: 30,
        averageSlipDays: -2.5,
      },
    ]);
    // An even count: [0, 10, 31, 31] → median at rank 2 = 10.
    expect(await closeDates(analyst, { partnerIds: [eta.id], statuses: ["NEGOTIATING", "WON"] })).to.deep.equal([
      {
        key: [],
        count: 4,
        earliest: "2026-01-20",
        latest: "2026-02-20",
        averageDaysToClose: 18,
        medianDaysToClose: 10,
        averageSlipDays: -2.5,
      },
    ]);
  });

  it("measures the slip of WON referrals against the close date estimated at acceptance, null for groups without one", async () => {
    const status = (value: string): Key[] => [{ dimension: "STATUS", value }];
    expect(await closeDates(analyst, { partnerIds: [eta.id] }, ["STATUS"])).to.deep.equal([
      {
        key: status("LOST"),
        count: 1,
        earliest: "2026-02-09",
        latest: "2026-02-09",
        averageDaysToClose: 30,
        medianDaysToClose: 30,
        averageSlipDays: null,
      },
      {
        key: status("NEGOTIATING"),
        count: 2,
        earliest: "2026-01-20",
        latest: "2026-02-01",
        averageDaysToClose: 5,
        medianDaysToClose: 0,
        averageSlipDays: null,
      },
      {
        key: status("WON"),
        count: 2,
        earliest: "2026-02-05",
        latest: "2026-02-20",
        averageDaysToClose: 31,
        medianDaysToClose: 31,
        averageSlipDays: -2.5,
      },
    ]);
    const region = (value: string): Key[] => [{ dimension: "REGION", value }];
    expect(await closeDates(analyst, { partnerIds: [eta.id], statuses: ["WON"] }, ["REGION"])).to.deep.equal([
      {
        key: region("DE"),
        count: 1,
        earliest: "2026-02-20",
        latest: "2026-02-20",
        averageDaysToClose: 31,
        medianDaysToClose: 31,
        averageSlipDays: -9,
      },
      {
        key: region("FR"),
        count: 1,
        earliest: "2026-02-05",
        latest: "2026-02-05",
        averageDaysToClose: 31,
        medianDaysToClose: 31,
        averageSlipDays: 4,
      },
    ]);
    expect(await closeDates(analyst, { statuses: ["NEGOTIATING", "LOST"] })).to.deep.equal(
      expectedCloseDates(rows, { statuses: ["NEGOTIATING", "LOST"] }).map((row) => ({ ...row, averageSlipDays: null })),
    );
  });

  it("takes the final close date of a WON referral for CLOSE_MONTH and the latest estimate of any other", async () => {
    const month = (value: string): Key[] => [{ dimension: "CLOSE_MONTH", value }];
    expect(await closeDates(analyst, { partnerIds: [eta.id] }, ["CLOSE_MONTH"])).to.deep.equal([
      {
        key: month("2026-01"),
        count: 1,
        earliest: "2026-01-20",
        latest: "2026-01-20",
        averageDaysToClose: 10,
        medianDaysToClose: 10,
        averageSlipDays: null,
      },
      {
        key: month("2026-02"),
        count: 4,
        earliest: "2026-02-01",
        latest: "2026-02-20",
        averageDaysToClose: 23,
        medianDaysToClose: 30,
        averageSlipDays: -2.5,
      },
    ]);
  });

  it("does not count referrals that never had a close date", async () => {
    expect(await closeDates(analyst, { statuses: UNVALUED })).to.deep.equal([]);
    expect(await closeDates(analyst, { statuses: UNVALUED }, ["STATUS"])).to.deep.equal([]);
  });

  it("answers [] when no referral matches, without groupBy as with it", async () => {
    const filter = { receivedAfter: "2030-01-01T00:00:00Z" };
    expect(await closeDates(analyst, filter)).to.deep.equal([]);
    expect(await closeDates(analyst, filter, ["PARTNER"])).to.deep.equal([]);
  });
});

describe("analytics > statistics filters and partner scope", () => {
  const server = useTestServer();
  let analyst: GraphQLClient;
  let rows: Row[];
  let p: TestPartner;
  let q: TestPartner;
  let r: TestPartner;

  /** Between the generated arrivals, so that only the two rows seeded around it sit at the boundary. */
  const T0 = "2026-05-20T12:00:00.000Z";
  const plus = (instant: string, ms: number) => new Date(Date.parse(instant) + ms).toISOString();

  before(async () => {
    const s = server.current;
    analyst = await issueKey(s, "ANALYST");
    [p, q, r] = [await createPartner(s), await createPartner(s), await createPartner(s)];
    rows = await seed(s, [
      ...generate([p, q, r], 150, 20260520),
      // Exactly at T0, and a millisecond before, in currencies nobody else uses.
      { partner: q, status: "NEGOTIATING", receivedAt: T0, estimate: { value: "11.00", currency: "CHF", closeDate: "2026-06-01" } },
      {
        partner: q,
        status: "NEGOTIATING",
        receivedAt: plus(T0, -1),
        estimate: { value: "22.00", currency: "JPY", closeDate: "2026-06-02" },
      },
    ]);
  });

  const CASES: { name: string; filter: () => Filter }[] = [
    { name: "receivedAfter (inclusive)", filter: () => ({ receivedAfter: "2026-04-01T00:30:00.000Z" }) },
    { name: "receivedBefore (exclusive)", filter: () => ({ receivedBefore: "2026-04-01T00:30:00.000Z" }) },
    {
      name: "receivedAfter and receivedBefore",
      filter: () => ({ receivedAfter: "2026-01-01T00:00:00.000Z", receivedBefore: "2026-06-30T23:59:59.000Z" }),
    },
    { name: "one region", filter: () => ({ regions: ["DE"] }) },
    { name: "several regions", filter: () => ({ regions: ["FR", "US"] }) },
    { name: "one status", filter: () => ({ statuses: ["WON"] }) },
    { name: "several statuses", filter: () => ({ statuses: ["LOST", "NEGOTIATING"] }) },
    { name: "one partner", filter: () => ({ partnerIds: [q.id] }) },
    { name: "several partners", filter: () => ({ partnerIds: [p.id, r.id] }) },
    {
      name: "every filter at once",
      filter: () => ({
        receivedAfter: "2026-01-01T00:00:00.000Z",
        receivedBefore: "2026-07-01T00:00:00.000Z",
        regions: ["FR", "DE"],
        statuses: ["WON", "LOST"],
        partnerIds: [p.id, q.id],
      }),
    },
  ];

  for (const { name, filter } of CASES) {
    it(`filters by ${name}, as computed from the rows`, async () => {
      const f = filter();
      const expectedDeals = expectedDealSizes(rows, f, ["PARTNER", "REGION"]);
      expect(expectedDeals.length, "something matches").to.be.above(1);
      expect(expectedDealSizes(rows, {}, ["PARTNER", "REGION"]), "something does not").to.not.deep.equal(expectedDeals);
      expect(await dealSizes(analyst, f, ["PARTNER", "REGION"])).to.deep.equal(expectedDeals);
      expect(await dealSizes(analyst, f)).to.deep.equal(expectedDealSizes(rows, f));
      expect(await closeDates(analyst, f, ["PARTNER", "REGION"])).to.deep.equal(expectedCloseDates(rows, f, ["PARTNER", "REGION"]));
      expect(await closeDates(analyst, f)).to.deep.equal(expectedCloseDates(rows, f));
    });
  }

  it("counts an arrival at exactly receivedAfter and leaves out one at exactly receivedBefore", async () => {
    const at = (currency: string, amount: string) => [single(currency, amount)];
    expect(await dealSizes(analyst, { receivedAfter: T0, receivedBefore: plus(T0, 1) })).to.deep.equal(at("CHF", "11.00"));
    expect(await dealSizes(analyst, { receivedAfter: plus(T0, -1), receivedBefore: T0 })).to.deep.equal(at("JPY", "22.00"));
    expect(await dealSizes(analyst, { receivedAfter: plus(T0, 1), receivedBefore: plus(T0, 2) })).to.deep.equal([]);
    const [closing] = await closeDates(analyst, { receivedAfter: plus(T0, -1), receivedBefore: plus(T0, 1) });
    expect(closing).to.include({ count: 2, earliest: "2026-06-01", latest: "2026-06-02" });
  });

  it("shows ANALYST and ADMIN keys every partner's referrals", async () => {
    for (const client of [analyst, server.current.admin, await issueKey(server.current, "ADMIN")]) {
      const answer = await dealSizes(client, null, ["PARTNER"]);
      expect(new Set(answer.map((row) => row.key[0].value))).to.deep.equal(new Set([p.id, q.id, r.id]));
      expect(answer).to.deep.equal(expectedDealSizes(rows, {}, ["PARTNER"]));
      expect(await closeDates(client, null, ["PARTNER"])).to.deep.equal(expectedCloseDates(rows, {}, ["PARTNER"]));
    }
  });

  it("shows a PARTNER key its own referrals alone", async () => {
    const own = { partnerIds: [p.id] };
    expect(await dealSizes(p.api)).to.deep.equal(expectedDealSizes(rows, own));
    expect(await dealSizes(p.api, null, ["PARTNER", "STATUS"])).to.deep.equal(expectedDealSizes(rows, own, ["PARTNER", "STATUS"]));
    expect(await closeDates(p.api)).to.deep.equal(expectedCloseDates(rows, own));
    expect(await closeDates(p.api, null, ["PARTNER", "MONTH"])).to.deep.equal(expectedCloseDates(rows, own, ["PARTNER", "MONTH"]));
    // Its other filters apply within its own referrals.
    const filter = { regions: ["DE"], statuses: ["WON", "NEGOTIATING"] };
    expect(await dealSizes(p.api, filter, ["REGION"])).to.deep.equal(expectedDealSizes(rows, { ...filter, ...own }, ["REGION"]));
    expect(await closeDates(p.api, filter, ["REGION"])).to.deep.equal(expectedCloseDates(rows, { ...filter, ...own }, ["REGION"]));
  });

  it("gives a PARTNER key nothing when partnerIds names another partner, who has data", async () => {
    expect(await dealSizes(analyst, { partnerIds: [q.id] }), "q has deals").to.not.deep.equal([]);
    expect(await closeDates(analyst, { partnerIds: [q.id] }), "q has close dates").to.not.deep.equal([]);
    expect(await dealSizes(p.api, { partnerIds: [q.id] })).to.deep.equal([]);
    expect(await dealSizes(p.api, { partnerIds: [q.id] }, ["PARTNER"])).to.deep.equal([]);
    expect(await closeDates(p.api, { partnerIds: [q.id] })).to.deep.equal([]);
    expect(await closeDates(p.api, { partnerIds: [q.id] }, ["PARTNER"])).to.deep.equal([]);
  });

  it("gives a PARTNER key naming itself and another partner its own figures alone", async () => {
    const filter = { partnerIds: [q.id, p.id] };
    expect(await dealSizes(p.api, filter, ["PARTNER"])).to.deep.equal(expectedDealSizes(rows, { partnerIds: [p.id] }, ["PARTNER"]));
    expect(await closeDates(p.api, filter, ["PARTNER"])).to.deep.equal(expectedCloseDates(rows, { partnerIds: [p.id] }, ["PARTNER"]));
  });

  it("matches nothing for an empty list or a partner id that names no partner", async () => {
    for (const filter of [
      { regions: [] },
      { statuses: [] },
      { partnerIds: [] },
      { partnerIds: ["999999"] },
      { partnerIds: ["not-an-id"] },
    ]) {
      expect(await dealSizes(analyst, filter), JSON.stringify(filter)).to.deep.equal([]);
      expect(await closeDates(analyst, filter), JSON.stringify(filter)).to.deep.equal([]);
    }
  });
});

describe("analytics > statistics end to end", () => {
  const server = useTestServer();

  const RECEIVED = `query($id: ID!) { referral(id: $id) { status receivedAt } }`;
  const D10 = daysFromToday(10);
  const D12 = daysFromToday(12);
  const D20 = daysFromToday(20);
  const D30 = daysFromToday(30);
  const D40 = daysFromToday(40);
  const D60 = daysFromToday(60);
  const D75 = daysFromToday(75);
  const D90 = daysFromToday(90);

  async function accepted(partner: TestPartner, value: string, currency: string, closeDate: string): Promise<string> {
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [partner.id] });
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: referralIds[0] });
    await reestimate(partner, referralIds[0], value, currency, closeDate, "acceptReferral");
    return referralIds[0];
  }

  async function reestimate(
    partner: TestPartner,
    id: string,
    value: string,
    currency: string,
    closeDate: string,
    mutation = "updateDealEstimate",
  ) {
    await partner.api.data(`mutation($id: ID!, $input: AcceptReferralInput!) { ${mutation}(id: $id, input: $input) { id } }`, {
      id,
      input: { estimatedDealValue: value, currency, estimatedCloseDate: closeDate },
    });
  }

  it("counts a referral won after a revised estimate at its final figures, with the slip against the estimate at acceptance", async () => {
    const s = server.current;
    const analyst = await issueKey(s, "ANALYST");
    const partner = await createPartner(s);

    // Accepted, revised, then won at other figures: 3000.50 GBP, closing D75 (15 days after the D60 estimated at acceptance).
    const won = await accepted(partner, "1000.00", "EUR", D60);
    await reestimate(partner, won, "2000.00", "USD", D90);
    await partner.api.data(`mutation($id: ID!, $input: WonReferralInput) { markReferralWon(id: $id, input: $input) { id } }`, {
      id: won,
      input: { dealValue: "3000.50", currency: "GBP", closeDate: D75 },
    });
    // Won without figures: at the latest estimate, 20.00 EUR closing D12 (2 days after D10).
    const wonAsEstimated = await accepted(partner, "10.00", "EUR", D10);
    await reestimate(partner, wonAsEstimated, "20.00", "EUR", D12);
    await partner.api.data(`mutation($id: ID!) { markReferralWon(id: $id) { id } }`, { id: wonAsEstimated });
    // Lost: at its latest estimate, 700.00 EUR closing D40.
    const lost = await accepted(partner, "500.00", "EUR", D30);
    await reestimate(partner, lost, "700.00", "EUR", D40);
    await partner.api.data(`mutation($id: ID!) { markReferralLost(id: $id) { id } }`, { id: lost });
    // Still negotiating: 100.00 EUR closing D20.
    const negotiating = await accepted(partner, "100.00", "EUR", D20);
    // Never accepted: not counted.
    const { referralIds } = await submitRfi(s.admin, { partnerIds: [partner.id] });
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id: referralIds[0] });
    await partner.api.data(`mutation($id: ID!) { declineReferral(id: $id) { id } }`, { id: referralIds[0] });
    await submitRfi(s.admin, { partnerIds: [partner.id] });

    const filter = { partnerIds: [partner.id] };
    expect(await dealSizes(analyst, filter)).to.deep.equal([
      // 20.00 + 100.00 + 700.00 = 820.00 over 3 = 273.333…
      {
        key: [],
        currency: "EUR",
        count: 3,
        total: "820.00",
        average: "273.33",
        min: "20.00",
        median: "100.00",
        p90: "700.00",
        max: "700.00",
      },
      single("GBP", "3000.50"),
    ]);
    const status = (value: string): Key[] => [{ dimension: "STATUS", value }];
    expect(await dealSizes(analyst, filter, ["STATUS"])).to.deep.equal([
      single("EUR", "700.00", status("LOST")),
      single("EUR", "100.00", status("NEGOTIATING")),
      {
        key: status("WON"),
        currency: "EUR",
        count: 1,
        total: "20.00",
        average: "20.00",
        min: "20.00",
        median: "20.00",
        p90: "20.00",
        max: "20.00",
      },
      single("GBP", "3000.50", status("WON")),
    ]);

    const arrival = async (id: string, expectedStatus: string) => {
      const { referral } = await s.admin.data(RECEIVED, { id });
      expect(referral.status).to.equal(expectedStatus);
      return String(referral.receivedAt).slice(0, 10);
    };
    const days = [
      daysBetween(await arrival(won, "WON"), D75),
      daysBetween(await arrival(wonAsEstimated, "WON"), D12),
      daysBetween(await arrival(lost, "LOST"), D40),
      daysBetween(await arrival(negotiating, "NEGOTIATING"), D20),
    ];
    const sorted = [...days].sort((a, b) => a - b);
    expect(await closeDates(analyst, filter)).to.deep.equal([
      {
        key: [],
        count: 4,
        earliest: D12,
        latest: D75,
        averageDaysToClose: days.reduce((sum, d) => sum + d, 0) / 4,
        medianDaysToClose: sorted[1],
        averageSlipDays: (daysBetween(D60, D75) + daysBetween(D10, D12)) / 2,
      },
    ]);
    // The WON ones close on their final dates (D75, not the revised D90), and slip against D60 and D10.
    expect(await closeDates(analyst, { ...filter, statuses: ["WON"] })).to.deep.equal([
      {
        key: [],
        count: 2,
        earliest: D12,
        latest: D75,
        averageDaysToClose: (days[0] + days[1]) / 2,
        medianDaysToClose: Math.min(days[0], days[1]),
        averageSlipDays: (daysBetween(D60, D75) + daysBetween(D10, D12)) / 2,
      },
    ]);
    expect(daysBetween(D60, D75), "premise: 15 days late against the first estimate").to.equal(15);
  });
});
