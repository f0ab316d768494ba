import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api/graphql.js";
import { formatMonth } from "../format.js";
import { useWords } from "../i18n.js";
import { LineChart } from "./line-chart.js";
import { alongAxis, type CloseMonth, type DealMonth, loadRegions, loadStats, monthsBetween, type StatsQuery } from "./stats.js";

function thisMonth(offset = 0): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
}

/** Deal sizes and close dates per month of arrival, for analysts: charts with the same numbers as tables. */
export function AnalystView({ apiKey }: { apiKey: string }) {
  const t = useWords();
  const days = (value: number) => t.days(value.toFixed(1));
  const [draft, setDraft] = useState<StatsQuery>({ region: "", from: thisMonth(-11), to: thisMonth() });
  const [query, setQuery] = useState(draft);
  const [stats, setStats] = useState<{ deals: DealMonth[]; closes: CloseMonth[] } | null>(null);
  const [currency, setCurrency] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);

  const [regions, setRegions] = useState<string[]>([]);
  // Suggestions only: without them the field still takes any country code, so a failure is not shown.
  useEffect(() => {
    loadRegions(apiKey)
      .then(setRegions)
      .catch(() => setRegions([]));
  }, [apiKey]);

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    loadStats(apiKey, query)
      .then((loaded) => current && setStats(loaded))
      .catch((failure) => current && setError(failure as Error))
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
        <label for="stats-region">{t.region}</label>
        <input
          id="stats-region"
          placeholder={t.allRegions}
          maxLength={2}
          autoComplete="off"
          list="stats-regions"
          value={draft.region}
          onInput={(e) => setDraft({ ...draft, region: e.currentTarget.value })}
        />
        <datalist id="stats-regions">
          {regions.map((region) => (
            <option key={region} value={region} />
          ))}
        </datalist>
        <label for="stats-from">{t.from}</label>
        <input
          id="stats-from"
          type="month"
          required
          value={draft.from}
          onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
        />
        <label for="stats-to">{t.to}</label>
        <input id="stats-to" type="month" required value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        <button type="submit">{t.show}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {t.couldNotLoadStats(describeError(error, t))}
        </p>
      )}

      <section aria-labelledby="deal-sizes">
        <h2 id="deal-sizes">{t.dealSizes}</h2>
        {currencies.length > 1 && (
          <p class="filters">
            <label for="stats-currency">{t.currency}</label>
            <select id="stats-currency" value={chosen} onChange={(e) => setCurrency(e.currentTarget.value)}>
              {currencies.map((code) => (
                <option key={code}>{code}</option>
              ))}
            </select>
          </p>
        )}
        {deals.length === 0 ? (
          <p class="empty">{t.noDeals}</p>
        ) : (
          <>
            <LineChart
              title={t.dealSizesChart(chosen)}
              months={dealMonths}
              series={[
                { key: "median", name: t.median, values: alongAxis(dealMonths, deals, (row) => row.median) },
                { key: "p90", name: t.p90, values: alongAxis(dealMonths, deals, (row) => row.p90) },
              ]}
              format={money}
            />
            <StatsTable
              caption={t.dealSizesTable(chosen)}
              headers={[t.month, t.deals, t.median, t.p90]}
              rows={deals.map((row) => [formatMonth(row.month), String(row.count), `${row.median.toFixed(2)}`, `${row.p90.toFixed(2)}`])}
            />
          </>
        )}
      </section>

      <section aria-labelledby="close-dates">
        <h2 id="close-dates">{t.closeDates}</h2>
        {closes.length === 0 ? (
          <p class="empty">{t.noCloses}</p>
        ) : (
          <>
            <LineChart
              title={t.closeDatesChart}
              months={closeMonths}
              series={[
                {
                  key: "median-days",
                  name: t.medianDaysToClose,
                  values: alongAxis(closeMonths, closes, (row) => row.medianDaysToClose),
                },
              ]}
              format={days}
            />
            <StatsTable
              caption={t.closeDatesTable}
              headers={[t.month, t.deals, t.medianDays, t.averageDays]}
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
