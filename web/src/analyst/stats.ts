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

/** The first instant of the month after `month` (YYYY-MM). */
function monthAfter(month: string): string {
  const [year, m] = month.split("-").map(Number);
  return new Date(Date.UTC(year, m, 1)).toISOString();
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
