import type { EntityManager } from "typeorm";
import { arrivalAnswer, dealWon, ReferralStatus, statusBefore, statusesWithOutcome, type ReferralAction } from "../referrals/lifecycle.js";
import { countsLearnedFrom, teaches, DEAL_BANDS, dealBandOf, FitCountKind, FitCounts, type Count, type FitFeatures } from "./fit.js";

/**
 * The counters of a partner's history (table partner_counters), kept in step with its referrals
 * inside each change's own transaction, so that fit scores and routing cost the same whatever the
 * history. Besides the fit model's counters (fit.ts): referrals no longer NEW (hits: answered within
 * 24 hours of arrival) and those MISSED, for responsiveness.
 */
export enum AnswerCountKind {
  LEFT_NEW = "LEFT_NEW",
  MISSED = "MISSED",
}

type Queryable = Pick<EntityManager, "query">;

interface CounterChange extends Count {
  partnerId: string;
  kind: FitCountKind | AnswerCountKind;
  value: string;
}

/** What the partner's history reads of a referral as a change left it (a referral's row, as the transition holds it). */
export interface CountedReferral extends FeatureColumns {
  id: string;
  partnerId: string;
  rfiId: string;
  status: ReferralStatus;
  receivedAt: Date;
  answeredAt: Date | null;
}

/** A committed-with-it change of one referral: the action and the referral as it left it (a transition). */
export interface CountedChange {
  action: ReferralAction;
  referral: CountedReferral;
}

const DAY_MS = 86_400_000;

/** What the fit model reads of a referral (its row) and its RFI's keywords. */
export interface FeatureColumns {
  industry: string | null;
  companySize: string;
  region: string;
  dealValue: string | null;
  dealCurrency: string | null;
}

export function featuresOf(referral: FeatureColumns, keywords: readonly string[]): FitFeatures {
  return {
    industry: referral.industry,
    companySize: referral.companySize,
    region: referral.region,
    keywords,
    dealBand: dealBandOf(referral.dealValue, referral.dealCurrency),
  };
}

/** Adds what `changes` teach to the counters, in the caller's transaction. */
export async function countChanges(em: Queryable, changes: readonly CountedChange[]): Promise<void> {
  const counters = new Map<string, CounterChange>();
  const add = (partnerId: string, kind: FitCountKind | AnswerCountKind, value: string, total: number, hits: number) => {
    const key = `${partnerId.padStart(20, "0")} ${kind} ${value}`;
    const counter = counters.get(key);
    if (counter) Object.assign(counter, { total: counter.total + total, hits: counter.hits + hits });
    else counters.set(key, { partnerId, kind, value, total, hits });
  };
  const learning: CountedChange[] = [];
  for (const change of changes) {
    const { referral } = change;
    const answer = arrivalAnswer(change.action);
    if (answer !== undefined) {
      const answeredAt = answer === "answered" ? referral.answeredAt : null;
      const within24h = answeredAt !== null && answeredAt.getTime() - referral.receivedAt.getTime() <= DAY_MS;
      add(referral.partnerId, AnswerCountKind.LEFT_NEW, "", 1, within24h ? 1 : 0);
      if (answer === "missed") add(referral.partnerId, AnswerCountKind.MISSED, "", 1, 0);
    }
    if (teaches(statusBefore(change.action, referral.status), referral.status)) learning.push(change);
  }
  if (learning.length > 0) {
    // Only a decision reads the RFI's keywords; deadline expiry never does.
    const rows: { id: string; keywords: string }[] = await em.query("SELECT CAST(id AS CHAR) AS id, keywords FROM rfis WHERE id IN (?)", [
      learning.map(({ referral }) => referral.rfiId),
    ]);
    const keywords = new Map(rows.map((row) => [row.id, JSON.parse(row.keywords) as string[]]));
    for (const { action, referral } of learning) {
      const features = featuresOf(referral, keywords.get(referral.rfiId) ?? []);
      for (const count of countsLearnedFrom(statusBefore(action, referral.status), referral.status, features)) {
        add(referral.partnerId, count.kind, count.value, count.total, count.hits);
      }
    }
  }
  await addCounters(em, counters);
}

/**
 * One upsert for all the changes, in key order, so that two transactions lock shared counters in the
 * same order. (`VALUES()` in ON DUPLICATE KEY UPDATE is what MySQL 8.4 and MariaDB both understand.)
 */
async function addCounters(em: Queryable, counters: Map<string, CounterChange>): Promise<void> {
  if (counters.size === 0) return;
  const rows = [...counters.keys()].sort().map((key) => counters.get(key)!);
  await em.query(
    `INSERT INTO partner_counters (partner_id, kind, value, total, hits) VALUES ${rows.map(() => "(?, ?, ?, ?, ?)").join(", ")}
     ON DUPLICATE KEY UPDATE total = total + VALUES(total), hits = hits + VALUES(hits)`,
    rows.flatMap((row) => [row.partnerId, row.kind, row.value, row.total, row.hits]),
  );
}

interface CounterRow {
  kind: FitCountKind;
  value: string;
  total: number;
  hits: number;
}

function fitCountsFrom(rows: CounterRow[]): FitCounts {
  return new FitCounts(rows.map((row) => ({ kind: row.kind, value: row.value, total: Number(row.total), hits: Number(row.hits) })));
}

/** The fit counters the scores of these referrals of one partner need, and no others. */
export async function fitCountsFor(q: Queryable, partnerId: string, referrals: readonly FitFeatures[]): Promise<FitCounts> {
  const wanted = new Map<FitCountKind, Set<string>>([
    [FitCountKind.DECIDED, new Set([""])],
    [FitCountKind.CLOSED, new Set([""])],
  ]);
  const want = (kind: FitCountKind, value: string) => wanted.set(kind, (wanted.get(kind) ?? new Set()).add(value));
  for (const referral of referrals) {
    want(FitCountKind.COMPANY_SIZE, referral.companySize);
    want(FitCountKind.REGION, referral.region);
    if (referral.industry !== null) want(FitCountKind.INDUSTRY, referral.industry.toLowerCase());
    for (const keyword of referral.keywords) want(FitCountKind.KEYWORD, keyword.toLowerCase());
    if (referral.dealBand !== null) want(FitCountKind.DEAL_BAND, referral.dealBand);
  }
  const kinds = [...wanted.entries()];
  const rows: CounterRow[] = await q.query(
    `SELECT kind, value, total, hits FROM partner_counters
     WHERE partner_id = ? AND (${kinds.map(() => "(kind = ? AND value IN (?))").join(" OR ")})`,
    [partnerId, ...kinds.flatMap(([kind, values]) => [kind, [...values]])],
  );
  return fitCountsFrom(rows);
}

/** Each partner's history revision (FitCounts.revision: its decided and closed referrals), in one statement; 0 without history. */
export async function historyRevisionsOf(q: Queryable, partnerIds: readonly string[]): Promise<Map<string, number>> {
  const rows: { partnerId: string; revision: string }[] = await q.query(
    `SELECT CAST(partner_id AS CHAR) AS partnerId, SUM(total) AS revision FROM partner_counters
     WHERE partner_id IN (?) AND kind IN (?) GROUP BY partner_id`,
    [partnerIds, [FitCountKind.DECIDED, FitCountKind.CLOSED]],
  );
  const revisions = new Map(partnerIds.map((partnerId) => [partnerId, 0]));
  for (const row of rows) revisions.set(row.partnerId, Number(row.revision));
  return revisions;
}

/** Every fit counter of a partner (to rescore all its open referrals at once). */
export async function allFitCountsOf(q: Queryable, partnerId: string): Promise<FitCounts> {
  const rows: CounterRow[] = await q.query("SELECT kind, value, total, hits FROM partner_counters WHERE partner_id = ? AND kind IN (?)", [
    partnerId,
    Object.values(FitCountKind),
  ]);
  return fitCountsFrom(rows);
}

export interface AnswerCounts {
  /** Referrals no longer NEW. */
  decided: number;
  answeredWithin24h: number;
  missed: number;
}

/** Each partner's answer counters, by partner id (zero for a partner without any). */
export async function answerCountsOf(q: Queryable, partnerIds: readonly string[]): Promise<Map<string, AnswerCounts>> {
  const found = new Map(partnerIds.map((id) => [id, { decided: 0, answeredWithin24h: 0, missed: 0 }]));
  if (partnerIds.length === 0) return found;
  const rows: { partnerId: string; kind: AnswerCountKind; total: number; hits: number }[] = await q.query(
    `SELECT CAST(partner_id AS CHAR) AS partnerId, kind, total, hits FROM partner_counters
     WHERE partner_id IN (?) AND kind IN (?) AND value = ''`,
    [partnerIds, Object.values(AnswerCountKind)],
  );
  for (const row of rows) {
    const counts = found.get(row.partnerId)!;
    if (row.kind === AnswerCountKind.LEFT_NEW) Object.assign(counts, { decided: Number(row.total), answeredWithin24h: Number(row.hits) });
    else counts.missed = Number(row.total);
  }
  return found;
}

/** Statuses as an SQL list; they are the lifecycle's own constants, never input. */
const sqlList = (statuses: readonly ReferralStatus[]) => statuses.map((status) => `'${status}'`).join(", ");

/**
 * Every counter recounted from the rows, set-based (for the migration that introduced them, and for
 * data written straight to the tables). With `partnerIds`, only theirs.
 */
export async function recountCounters(q: Queryable, partnerIds?: readonly string[]): Promise<void> {
  const decided = sqlList([...statusesWithOutcome("accepted"), ...statusesWithOutcome("declined")]);
  const accepted = `SUM(r.status IN (${sqlList(statusesWithOutcome("accepted"))}))`;
  const closed = sqlList(Object.values(ReferralStatus).filter((status) => dealWon(status) !== undefined));
  const won = `SUM(r.status IN (${sqlList(Object.values(ReferralStatus).filter((status) => dealWon(status) === true))}))`;
  const band = `CONCAT(CASE ${DEAL_BANDS.map(({ label, below }) =>
    below === undefined ? `ELSE '${label}'` : `WHEN r.deal_value < ${below} THEN '${label}'`,
  ).join(" ")} END, ' ', r.deal_currency)`;
  const keywords =
    "rfis f CROSS JOIN JSON_TABLE(f.keywords, '$[*]' COLUMNS (keyword VARCHAR(100) PATH '$')) AS k JOIN referrals r ON r.rfi_id = f.id";
  const sources: [kind: FitCountKind | AnswerCountKind, value: string, hits: string, from: string, where: string][] = [
    [FitCountKind.DECIDED, "''", accepted, "referrals r", `r.status IN (${decided})`],
    [FitCountKind.COMPANY_SIZE, "r.company_size", accepted, "referrals r", `r.status IN (${decided})`],
    [FitCountKind.REGION, "r.region", accepted, "referrals r", `r.status IN (${decided})`],
    [FitCountKind.INDUSTRY, "LOWER(r.industry)", accepted, "referrals r", `r.status IN (${decided}) AND r.industry IS NOT NULL`],
    [FitCountKind.KEYWORD, "LOWER(k.keyword)", accepted, keywords, `r.status IN (${decided})`],
    [FitCountKind.CLOSED, "''", won, "referrals r", `r.status IN (${closed})`],
    [
      FitCountKind.DEAL_BAND,
      band,
      won,
      "referrals r",
      `r.status IN (${closed}) AND r.deal_value IS NOT NULL AND r.deal_currency IS NOT NULL`,
    ],
    [
      AnswerCountKind.LEFT_NEW,
      "''",
      "SUM(r.answered_at IS NOT NULL AND r.answered_at <= r.received_at + INTERVAL 24 HOUR)",
      "referrals r",
      `r.status <> '${ReferralStatus.NEW}'`,
    ],
    [AnswerCountKind.MISSED, "''", "0", "referrals r", `r.status = '${ReferralStatus.MISSED}'`],
  ];
  const scope = partnerIds === undefined ? [] : [partnerIds];
  await q.query(`DELETE FROM partner_counters${partnerIds === undefined ? "" : " WHERE partner_id IN (?)"}`, scope);
  for (const [kind, value, hits, from, where] of sources) {
    // Values compare byte for byte, like the column: "Santé" and "Sante" are two industries.
    await q.query(
      `INSERT INTO partner_counters (partner_id, kind, value, total, hits)
       SELECT r.partner_id, '${kind}', ${value} COLLATE utf8mb4_bin AS v, COUNT(*), ${hits}
       FROM ${from} WHERE ${where}${partnerIds === undefined ? "" : " AND r.partner_id IN (?)"} GROUP BY r.partner_id, v`,
      scope,
    );
  }
}
