import type { DataSource } from "typeorm";
import { random } from "../test/support/random.js";
import { RFI_COLUMNS } from "./support.js";

const REGIONS = ["FR", "DE", "GB", "US", "ES", "IT", "NL", "BE", "CA", "JP"];
const SIZES = ["SIZE_1_TO_9", "SIZE_10_TO_49", "SIZE_50_TO_249", "SIZE_250_TO_999", "SIZE_1000_TO_4999", "SIZE_5000_PLUS"];
const INDUSTRIES = ["Manufacturing", "Retail", "Finance", "Health", "Public sector", null];
const CURRENCIES = ["EUR", "USD", "GBP"];
const STATUSES = ["NEW", "EVALUATING", "NEGOTIATING", "WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"];
const WITH_DEAL = new Set(["NEGOTIATING", "WON", "LOST"]);
const PARTNERS = 100;
const BATCH = 2000;

const pick = <T>(next: (n: number) => number, values: readonly T[]): T => values[next(values.length)];
const sqlTime = (date: Date) => date.toISOString().slice(0, 23).replace("T", " ");

/**
 * `count` referrals of 100 partners (one RFI goes to every partner), spread over two years of
 * arrivals, nine statuses, six company sizes and industries, ten regions and three currencies;
 * those accepted at some point carry a deal value and close date. Rows go straight to the tables.
 */
export async function seedReferrals(db: DataSource, count: number): Promise<void> {
  const next = random(42);
  const fraction = () => next(1_000_000) / 1_000_000;
  const now = new Date("2026-11-01T00:00:00.000Z").getTime();
  await db.query(
    "INSERT INTO partners (id, name, created_at) VALUES " +
      Array.from({ length: PARTNERS }, (_, i) => `(${i + 1}, 'Partner ${i + 1}', NOW(3))`).join(", "),
  );
  await db.query(
    `INSERT INTO marketing_profiles (id, partner_id, region, location, contact_email, keywords, preferred_company_sizes, active, created_at, updated_at) VALUES ` +
      Array.from(
        { length: PARTNERS },
        (_, i) =>
          `(${i + 1}, ${i + 1}, '${REGIONS[i % REGIONS.length]}', 'HQ', 'p${i + 1}@partner.example', '["cloud"]', '[]', 1, NOW(3), NOW(3))`,
      ).join(", "),
  );
  const rfis = Math.ceil(count / PARTNERS);
  for (let first = 0; first < rfis; first += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, rfis - first) }, (_, i) => {
      const at = sqlTime(new Date(now - fraction() * 730 * 86_400_000));
      return `(${first + i + 1}, 'Bench need', 'SIZE_1_TO_9', NULL, 'FR', '["cloud"]', 'Fabrikam', 'Ann', 'ann@fabrikam.example', NULL, '${at}', NULL)`;
    });
    await db.query(`INSERT INTO rfis ${RFI_COLUMNS} VALUES ${rows.join(", ")}`);
  }
  for (let first = 0; first < count; first += BATCH) {
    const rows: string[] = [];
    for (let n = first; n < Math.min(first + BATCH, count); n++) {
      const partner = (n % PARTNERS) + 1;
      const status = pick(next, STATUSES);
      const received = new Date(now - fraction() * 730 * 86_400_000);
      const deal = WITH_DEAL.has(status);
      const value = deal ? (Math.floor(fraction() * 50_000_000) / 100).toFixed(2) : null;
      const currency = deal ? pick(next, CURRENCIES) : null;
      const close = deal ? new Date(received.getTime() + (10 + fraction() * 200) * 86_400_000).toISOString().slice(0, 10) : null;
      const industry = pick(next, INDUSTRIES);
      const v = (x: string | null) => (x === null ? "NULL" : `'${x}'`);
      rows.push(
        `(${Math.floor(n / PARTNERS) + 1}, ${partner}, ${partner}, '${pick(next, REGIONS)}', '${pick(next, SIZES)}', ${v(industry)}, '${status}', 1, ` +
          `'${sqlTime(received)}', '${sqlTime(received)}', ${v(value)}, ${v(currency)}, ${v(close)}, ${v(value)}, ${v(currency)}, ${v(close)})`,
      );
    }
    await db.query(
      `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, industry, status, version, received_at, updated_at,
         estimated_deal_value, estimated_currency, estimated_close_date, deal_value, deal_currency, deal_close_date)
       VALUES ${rows.join(", ")}`,
    );
  }
}
