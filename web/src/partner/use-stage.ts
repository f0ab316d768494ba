import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { ReferralStage, ReferralStatus } from "../../../src/referrals/lifecycle.js";
import { compareIn, loadCounts, loadStage, type Referral, type StageCounts } from "../api/referrals.js";

export interface StageState {
  referrals: Referral[];
  counts: StageCounts | null;
  loading: boolean;
  /** Why the last load failed (worded by the view, in its language). */
  error: Error | null;
  hasNextPage: boolean;
  loadMore(): void;
  reload(): void;
  /** Merges a newer version of a referral (from an action or the live feed); counts follow. */
  merge(referral: Referral): void;
}

/**
 * One tab's referrals and every tab's count. A referral that leaves the tab stays in view (marked)
 * until the tab is loaded again, so that nothing moves away under the person reading it.
 */
export function useStage(apiKey: string, stage: ReferralStage, statuses: ReferralStatus[] | undefined): StageState {
  const [referrals, setReferrals] = useState<Referral[]>([]);
  const [counts, setCounts] = useState<StageCounts | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);
  const [cursor, setCursor] = useState<{ endCursor: string | null; hasNextPage: boolean }>({ endCursor: null, hasNextPage: false });
  // Answers to an earlier tab or filter are dropped when they arrive after a newer request.
  const generation = useRef(0);
  const countsTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const load = useCallback(
    async (after: string | null) => {
      const mine = ++generation.current;
      setLoading(true);
      setError(null);
      try {
        const { page, counts } = await loadStage(apiKey, stage, statuses, after);
        if (mine !== generation.current) return;
        setReferrals((shown) => (after ? [...shown, ...page.referrals.filter((r) => !shown.some((s) => s.id === r.id))] : page.referrals));
        setCursor({ endCursor: page.endCursor, hasNextPage: page.hasNextPage });
        setCounts(counts);
      } catch (failure) {
        if (mine === generation.current) setError(failure as Error);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [apiKey, stage, statuses],
  );

  useEffect(() => {
    void load(null);
  }, [load]);
  useEffect(() => () => clearTimeout(countsTimer.current), []);

  // Changes often come in bursts (an action, then its live echo): one count request for a burst.
  const refreshCounts = useCallback(() => {
    clearTimeout(countsTimer.current);
    countsTimer.current = setTimeout(() => {
      loadCounts(apiKey).then(setCounts, () => {});
    }, 150);
  }, [apiKey]);

  const merge = useCallback(
    (referral: Referral) => {
      setReferrals((shown) => {
        const index = shown.findIndex((r) => r.id === referral.id);
        if (index >= 0) {
          if (shown[index].version > referral.version) return shown;
          const next = shown.slice();
          next[index] = referral;
          return next;
        }
        const belongs = referral.stage === stage && (!statuses?.length || statuses.includes(referral.status));
        return belongs ? [...shown, referral].sort(compareIn(stage)) : shown;
      });
      refreshCounts();
    },
    [stage, statuses, refreshCounts],
  );

  return {
    referrals,
    counts,
    loading,
    error,
    hasNextPage: cursor.hasNextPage,
    loadMore: () => void load(cursor.endCursor),
    reload: () => void load(null),
    merge,
  };
}
