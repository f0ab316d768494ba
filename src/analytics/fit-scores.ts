import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { LoopHold, tagged } from "../db/background.js";
import type { Queryable } from "../db/entity-rows.js";
import { openStatuses, ReferralAction, statusBefore, type ReferralStatus } from "../referrals/lifecycle.js";
import { fitOfOpen, teaches, FitCountKind, type FitCounts } from "./fit.js";
import { reasonsText, RESCORING, scoreText, storeFits, writeFits, type ScoredFit } from "./fit-score-writes.js";
import {
  allFitCountsOf,
  featuresOf,
  fitCountsFor,
  historyRevisionsOf,
  type CountedChange,
  type CountedReferral,
} from "./history-counters.js";

/** Changes that alter what the model reads of the referral itself (it arrived; its deal band moved) without a decision. */
const RESHAPING = new Set([ReferralAction.RECEIVE, ReferralAction.UPDATE_ESTIMATE]);
const CHUNK = 1000;
/** How long a rescoring run holds a partner; renewed after every chunk, freed at the end. */
const LEASE_SECONDS = 60;
/** Queued referrals scored together at most. */
const SCORE_BATCH = 500;

interface ScoredRow {
  id: string;
  status: ReferralStatus;
  industry: string | null;
  companySize: string;
  region: string;
  keywords: string;
  dealValue: string | null;
  dealCurrency: string | null;
  fitScore: string | null;
  fitReasons: string | null;
}

/** Whether a change taught the fit model something: the partner's other open referrals need new scores. */
export function teachesFit({ action, referral }: CountedChange): boolean {
  return teaches(statusBefore(action, referral.status), referral.status);
}

/**
 * Keeps each open referral's fit score (fit.ts) stored, so that lists sort by it. A referral is
 * scored when it arrives or its estimate changes, from the few counters it needs; after a decision,
 * the partner's open referrals are rescored off the request path (`rescorePartner`, run by a job).
 * Derived data: it changes neither the version nor updatedAt.
 */
export class FitScores {
  /** Rescoring is a loop of its own: its statements say so (src/db/background.ts). */
  private readonly loop: Queryable;

  /**
   * Referrals waiting to be scored, by id: a later change of one replaces the earlier. `unscored`: it
   * arrived since its last scoring, so that it has no score yet.
   */
  private readonly waiting = new Map<string, { referral: CountedReferral; unscored: boolean }>();
  private scoring: Promise<void> | undefined;
  private stopping = false;
  private readonly hold = new LoopHold(() => this.scoreSoon());

  constructor(
    private readonly db: DataSource,
    private readonly logger: Logger,
  ) {
    this.loop = tagged(db, RESCORING);
  }

  /**
   * A consumer of committed transitions: queues each new referral (or changed estimate) to be scored
   * from its partner's counters, off the request path. What queues up while a batch is scored is scored
   * next, together: a burst of arrivals costs a few statements per batch rather than three per referral.
   */
  refresh(transitions: readonly CountedChange[]): void {
    if (this.stopping) return;
    for (const { action, referral } of transitions) {
      if (!RESHAPING.has(action)) continue;
      const unscored = action === ReferralAction.RECEIVE || this.waiting.get(referral.id)?.unscored === true;
      this.waiting.set(referral.id, { referral, unscored });
    }
    this.scoreSoon();
  }

  /** Runs `work` with scoring held back (what is queued meanwhile waits), then scores what waited. */
  holding<T>(work: () => Promise<T>): Promise<T> {
    return this.hold.during(work);
  }

  /** Scores what waits, unless held (a stop scores it anyway). */
  private scoreSoon(): void {
    if (this.waiting.size === 0 || (this.hold.held && !this.stopping)) return;
    // What was queued while a run was ending is scored by the next.
    this.scoring ??= this.scoreWaiting().finally(() => {
      this.scoring = undefined;
      this.scoreSoon();
    });
  }

  /** Resolves once every referral queued so far is scored, once any hold has ended (what tests and the demo await). */
  async settled(): Promise<void> {
    for (;;) {
      if (this.scoring) await this.scoring;
      else if (this.waiting.size === 0 || this.stopping) return;
      else if (this.hold.held) await this.hold.released();
      else this.scoreSoon();
    }
  }

  /** Scores what is queued, held or not, and takes no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.scoreSoon();
    await this.settled();
  }

  private async scoreWaiting(): Promise<void> {
    while (this.waiting.size > 0 && (this.stopping || !this.hold.held)) {
      const batch = [...this.waiting.values()].slice(0, SCORE_BATCH);
      for (const { referral } of batch) this.waiting.delete(referral.id);
      try {
        await this.score(batch);
      } catch (err) {
        // Derived data: the referral keeps no score (or its old one) until its partner's next rescoring.
        this.logger.warn({ err, referrals: batch.length }, "could not score new referrals");
      }
    }
  }

  /** One read of the RFIs' keywords, one of each partner's counters, then the writes. */
  private async score(queued: readonly { referral: CountedReferral; unscored: boolean }[]): Promise<void> {
    const referrals = queued.map(({ referral }) => referral);
    const unscored = new Set(queued.filter((entry) => entry.unscored).map(({ referral }) => referral.id));
    const rfiIds = [...new Set(referrals.map((referral) => referral.rfiId))];
    const rows: { id: string; keywords: string }[] = await this.loop.query(
      "SELECT CAST(id AS CHAR) AS id, keywords FROM rfis WHERE id IN (?)",
      [rfiIds],
    );
    const keywords = new Map(rows.map((row) => [row.id, JSON.parse(row.keywords) as string[]]));
    const fits: ScoredFit[] = [];
    const byPartner = new Map<string, CountedReferral[]>();
    for (const referral of referrals) {
      const own = byPartner.get(referral.partnerId);
      if (own) own.push(referral);
      else byPartner.set(referral.partnerId, [referral]);
    }
    const revisions = new Map<string, number>();
    for (const [partnerId, own] of byPartner) {
      const features = own.map((referral) => featuresOf(referral, keywords.get(referral.rfiId) ?? []));
      const counts = await fitCountsFor(this.loop, partnerId, features);
      revisions.set(partnerId, counts.revision);
      own.forEach((referral, i) =>
        fits.push({ id: referral.id, fit: fitOfOpen(features[i], referral.status, counts), unscored: unscored.has(referral.id) }),
      );
    }
    // One referral is written by one statement, which holds nothing else while it waits (see store).
    if (fits.length === 1) await writeFits(this.loop, fits);
    else await storeFits(this.db, fits);
    // A decision that came meanwhile may have been rescored before these writes, which then put back
    // scores from the older counters: the partner's open referrals are rescored once more.
    for (const partnerId of await this.revisedSince(revisions)) await this.rescorePartner(partnerId, undefined, true);
  }

  /** The partners whose counters learned a decision since `revisions` were read, in one statement. */
  private async revisedSince(revisions: ReadonlyMap<string, number>): Promise<string[]> {
    const now = await historyRevisionsOf(this.loop, [...revisions.keys()]);
    return [...revisions].filter(([partnerId, revision]) => now.get(partnerId) !== revision).map(([partnerId]) => partnerId);
  }

  /**
   * Rescores every open referral of a partner from its counters, unless another run holds the
   * partner (that run looks for news once it lets go). Runs again while decisions came in meanwhile.
   * `force`: reads every open referral even if the scores reflect the counters' revision (some were
   * written from older counters). Answers how many referrals got a new score or new reasons.
   */
  async rescorePartner(partnerId: string, progress: () => Promise<void> = async () => undefined, force = false): Promise<number> {
    await this.loop.query("INSERT IGNORE INTO fit_rescoring (partner_id) VALUES (?)", [partnerId]);
    let rewritten = 0;
    for (let first = true; ; first = false) {
      const token = randomUUID();
      const scored = await this.claim(partnerId, token);
      if (scored === undefined) return rewritten;
      let revision: number | null = null;
      try {
        const counts = await allFitCountsOf(this.loop, partnerId);
        if ((force && first) || counts.revision !== scored) {
          rewritten += await this.rescoreOpen(partnerId, counts, async () => {
            await this.renew(partnerId, token);
            await progress();
          });
        }
        revision = counts.revision;
      } finally {
        await this.loop.query(
          `UPDATE fit_rescoring SET scored_revision = GREATEST(scored_revision, COALESCE(?, 0)), leased_until = NULL, lease_token = NULL
           WHERE partner_id = ? AND lease_token = ?`,
          [revision, partnerId, token],
        );
      }
      if ((await historyRevisionsOf(this.loop, [partnerId])).get(partnerId) === revision) return rewritten;
    }
  }

  /** Partners whose open referrals' scores lag behind their counters and that no run holds (a lost job). */
  async partnersBehind(): Promise<string[]> {
    const rows: { partnerId: string }[] = await this.loop.query(
      `SELECT CAST(c.partner_id AS CHAR) AS partnerId
       FROM partner_counters c LEFT JOIN fit_rescoring s ON s.partner_id = c.partner_id
       WHERE c.kind IN (?) AND (s.leased_until IS NULL OR s.leased_until < NOW(3))
       GROUP BY c.partner_id, s.scored_revision HAVING SUM(c.total) > COALESCE(s.scored_revision, 0)`,
      [[FitCountKind.DECIDED, FitCountKind.CLOSED]],
    );
    return rows.map((row) => row.partnerId);
  }

  /** Takes the partner's lease when free, and answers the revision its scores reflect; undefined when another run holds it. */
  private async claim(partnerId: string, token: string): Promise<number | undefined> {
    const { affectedRows }: { affectedRows: number } = await this.loop.query(
      `UPDATE fit_rescoring SET leased_until = NOW(3) + INTERVAL ${LEASE_SECONDS} SECOND, lease_token = ?
       WHERE partner_id = ? AND (leased_until IS NULL OR leased_until < NOW(3))`,
      [token, partnerId],
    );
    if (affectedRows !== 1) return undefined;
    const [{ scored }] = await this.loop.query("SELECT scored_revision AS scored FROM fit_rescoring WHERE partner_id = ?", [partnerId]);
    return Number(scored);
  }

  private async renew(partnerId: string, token: string): Promise<void> {
    const { affectedRows }: { affectedRows: number } = await this.loop.query(
      `UPDATE fit_rescoring SET leased_until = NOW(3) + INTERVAL ${LEASE_SECONDS} SECOND WHERE partner_id = ? AND lease_token = ?`,
      [partnerId, token],
    );
    if (affectedRows !== 1) throw new Error(`rescoring partner ${partnerId} outlived its ${LEASE_SECONDS} s lease; another run took over`);
  }

  private async rescoreOpen(partnerId: string, counts: FitCounts, progress: () => Promise<void>): Promise<number> {
    const open = openStatuses();
    const ids: { id: string }[] = await this.loop.query(
      "SELECT CAST(id AS CHAR) AS id FROM referrals WHERE partner_id = ? AND status IN (?)",
      [partnerId, open],
    );
    let rewritten = 0;
    for (let start = 0; start < ids.length; start += CHUNK) {
      const rows: ScoredRow[] = await this.loop.query(
        `SELECT CAST(r.id AS CHAR) AS id, r.status, r.industry, r.company_size AS companySize, r.region, f.keywords,
                r.deal_value AS dealValue, r.deal_currency AS dealCurrency, r.fit_score AS fitScore, r.fit_reasons AS fitReasons
         FROM referrals r JOIN rfis f ON f.id = r.rfi_id WHERE r.id IN (?) AND r.status IN (?)`,
        [ids.slice(start, start + CHUNK).map(({ id }) => id), open],
      );
      const changed = rows
        .map((row) => ({ row, fit: fitOfOpen(featuresOf(row, JSON.parse(row.keywords) as string[]), row.status, counts) }))
        .filter(({ row, fit }) => row.fitScore !== scoreText(fit) || row.fitReasons !== reasonsText(fit))
        .map(({ row, fit }) => ({ id: row.id, fit }));
      await storeFits(this.db, changed);
      rewritten += changed.length;
      await progress();
    }
    return rewritten;
  }
}
