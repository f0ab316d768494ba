import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api/graphql.js";
import { formatMonth } from "../format.js";
import { LineChart } from "./line-chart.js";
import { alongAxis, type CloseMonth, type DealMonth, loadStats, monthsBetween, type StatsQuery } from "./stats.js";

function thisMonth(offset = 0): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
}

const days = (value: number) => `${value.toFixed(1)} d`;

/** Deal sizes and close dates per month of arrival, for analysts: charts with the same numbers as tables. */
export function AnalystView({ apiKey }: { apiKey: string }) {
  const [draft, setDraft] = useState<StatsQuery>({ region: "", from: thisMonth(-11), to: thisMonth() });
  const [query, setQuery] = useState(draft);
  const [stats, setStats] = useState<{ deals: DealMonth[]; closes: CloseMonth[] } | null>(null);
  const [currency, setCurrency] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    loadStats(apiKey, query)
      .then((loaded) => current && setStats(loaded))
      .catch((failure) => current && setError(describeError(failure)))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [apiKey, query]);

  // The currency with the most deals, unless the analyst chose one that is still there.
  const currencies = [...new Set(stats?.deals.map((row) => row.currency))];
  const dealsPer = (code: string) => stats?.deals.filter((row) => row.currency === code).reduce((n, row) => n + row.count, 0) ?? 0;
  const chosen = currency && currencies.includes(currency) ? currency : currencies.sort((a, b) => dealsPer(b) - dealsPer(a))[0];
  const deals = stats?.deals.filter((row) => row.currency === chosen) ?? [];
  const closes = stats?.closes ?? [];
  // Rows come sorted by month; months without any stay on the axis as gaps.
  const axisOf = (rows: { month: string }[]) => (rows.length ? monthsBetween(rows[0].month, rows[rows.length - 1].month) : []);
  const dealMonths = axisOf(deals);
  const closeMonths = axisOf(closes);
  const money = (value: number) =>
    new Intl.NumberFormat(undefined, { style: "currency", currency: chosen ?? "EUR", notation: "compact" }).format(value);

  return (
    <div class="analyst" aria-busy={loading}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ ...draft, region: draft.region.trim().toUpperCase() });
        }}
      >
        <label for="stats-region">Region</label>
        <input
          id="stats-region"
          placeholder="All regions, or e.g. FR"
          maxLength={2}
          autoComplete="off"
          value={draft.region}
          onInput={(e) => setDraft({ ...draft, region: e.currentTarget.value })}
        />
        <label for="stats-from">From</label>
        <input
          id="stats-from"
          type="month"
          required
          value={draft.from}
          onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
        />
        <label for="stats-to">To</label>
        <input id="stats-to" type="month" required value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        <button type="submit">Show</button>
      </form>
      {error && (
        <p class="error" role="alert">
          Could not load the statistics: {error}
        </p>
      )}

      <section aria-labelledby="deal-sizes">
        <h2 id="deal-sizes">Deal sizes</h2>
        {currencies.length > 1 && (
          <p class="filters">
            <label for="stats-currency">Currency</label>
            <select id="stats-currency" value={chosen} onChange={(e) => setCurrency(e.currentTarget.value)}>
              {currencies.map((code) => (
                <option key={code}>{code}</option>
              ))}
            </select>
          </p>
        )}
        {deals.length === 0 ? (
          <p class="empty">No deal values in this period.</p>
        ) : (
          <>
            <LineChart
              title={`Median and p90 deal size per month (${chosen})`}
              months={dealMonths}
              series={[
                { key: "median", name: "Median", values: alongAxis(dealMonths, deals, (row) => row.median) },
                { key: "p90", name: "p90", values: alongAxis(dealMonths, deals, (row) => row.p90) },
              ]}
              format={money}
            />
            <StatsTable
              caption={`Deal sizes per month, ${chosen}`}
              headers={["Month", "Deals", "Median", "p90"]}
              rows={deals.map((row) => [formatMonth(row.month), String(row.count), `${row.median.toFixed(2)}`, `${row.p90.toFixed(2)}`])}
            />
          </>
        )}
      </section>

      <section aria-labelledby="close-dates">
        <h2 id="close-dates">Close dates</h2>
        {closes.length === 0 ? (
          <p class="empty">No closed deals in this period.</p>
        ) : (
          <>
            <LineChart
              title="Median days to close per month"
              months={closeMonths}
              series={[
                {
                  key: "median-days",
                  name: "Median days to close",
                  values: alongAxis(closeMonths, closes, (row) => row.medianDaysToClose),
                },
              ]}
              format={days}
            />
            <StatsTable
              caption="Days to close per month"
              headers={["Month", "Deals", "Median days", "Average days"]}
              rows={closes.map((row) => [
                formatMonth(row.month),
                String(row.count),
                days(row.medianDaysToClose),
                days(row.averageDaysToClose),
              ])}
            />
          </>
        )}
      </section>
    </div>
  );
}

function StatsTable({ caption, headers, rows }: { caption: string; headers: string[]; rows: string[][] }) {
  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {headers.map((header) => (
              <th key={header} scope="col">
                {header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row[0]}>{row.map((cell, i) => (i === 0 ? <th scope="row">{cell}</th> : <td>{cell}</td>))}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
