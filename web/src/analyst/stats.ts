import { graphql } from "../api/graphql.js";

export interface StatsQuery {
  /** An ISO country code, or empty for every region. */
  region: string;
  /** Months as YYYY-MM, both included. */
  from: string;
  to: string;
}

export interface DealMonth {
  month: string;
  currency: string;
  count: number;
  median: number;
  p90: number;
}

export interface CloseMonth {
  month: string;
  count: number;
  medianDaysToClose: number;
  averageDaysToClose: number;
}

interface Row {
  key: { value: string }[];
}

/** Every month from `first` to `last` (YYYY-MM), both included: a chart's axis, gaps included. */
export function monthsBetween(first: string, last: string): string[] {
  const [year, month] = first.split("-").map(Number);
  const months: string[] = [];
  for (let i = 0; ; i += 1) {
    const next = new Date(Date.UTC(year, month - 1 + i, 1)).toISOString().slice(0, 7);
    if (next > last) return months;
    months.push(next);
  }
}

/** One value per month of `axis`, null where `rows` have none. */
export function alongAxis<T extends { month: string }>(axis: string[], rows: T[], value: (row: T) => number): (number | null)[] {
  const byMonth = new Map(rows.map((row) => [row.month, value(row)]));
  return axis.map((month) => byMonth.get(month) ?? null);
}

/** The first instant of the month after `month` (YYYY-MM). */
function monthAfter(month: string): string {
  const [year, m] = month.split("-").map(Number);
  return new Date(Date.UTC(year, m, 1)).toISOString();
}

/** The regions where partners have a marketing profile, sorted: the region filter's suggestions. */
export async function loadRegions(apiKey: string): Promise<string[]> {
  const { partners } = await graphql<{ partners: { profiles: { region: string }[] }[] }>(
    apiKey,
    "query Regions { partners { profiles { region } } }",
  );
  return [...new Set(partners.flatMap((partner) => partner.profiles.map((profile) => profile.region)))].sort();
}

/** Deal sizes and days to close per month of arrival, for one region or all, in one request. */
export async function loadStats(apiKey: string, query: StatsQuery): Promise<{ deals: DealMonth[]; closes: CloseMonth[] }> {
  const filter = {
    receivedAfter: `${query.from}-01T00:00:00.000Z`,
    receivedBefore: monthAfter(query.to),
    ...(query.region ? { regions: [query.region] } : {}),
  };
  const data = await graphql<{
    deals: (Row & { currency: string; count: number; median: string; p90: string })[];
    closes: (Row & { count: number; medianDaysToClose: number; averageDaysToClose: number })[];
  }>(
    apiKey,
    `query Stats($filter: StatsFilter) {
      deals: dealSizeStats(groupBy: [MONTH], filter: $filter) { key { value } currency count median p90 }
      closes: closeDateStats(groupBy: [MONTH], filter: $filter) { key { value } count medianDaysToClose averageDaysToClose }
    }`,
    { filter },
  );
  const byMonth = <T extends { month: string }>(rows: T[]) => rows.sort((a, b) => a.month.localeCompare(b.month));
  return {
    deals: byMonth(
      data.deals.map((row) => ({
        month: row.key[0].value,
        currency: row.currency,
        count: row.count,
        median: Number(row.median),
        p90: Number(row.p90),
      })),
    ),
    closes: byMonth(
      data.closes.map((row) => ({
        month: row.key[0].value,
        count: row.count,
        medianDaysToClose: row.medianDaysToClose,
        averageDaysToClose: row.averageDaysToClose,
      })),
    ),
  };
}
