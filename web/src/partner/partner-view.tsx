import { useMemo, useState } from "preact/hooks";
import { ReferralAction, ReferralStage, type ReferralStatus, statusesInStage } from "../../../src/referrals/lifecycle.js";
import { describeError } from "../api/graphql.js";
import { useWords } from "../i18n.js";
import { useLive } from "../live-hub.js";
import { type Tab, Tabs } from "../tabs.js";
import { ReferralCard } from "./referral-card.js";
import { useStage } from "./use-stage.js";

interface Props {
  apiKey: string;
  /** Says something to screen readers and on screen, politely (the page's live region). */
  announce(message: string): void;
}

const STAGES = Object.values(ReferralStage);

/** Dashboard > Referrals > Customer referrals: a tab per stage, each referral with its deadline and actions. */
export function PartnerView({ apiKey, announce }: Props) {
  const t = useWords();
  const [stage, setStage] = useState<ReferralStage>(ReferralStage.NEW);
  const [archivedStatus, setArchivedStatus] = useState<ReferralStatus | "">("");
  const statuses = useMemo(
    () => (stage === ReferralStage.ARCHIVED && archivedStatus ? [archivedStatus] : undefined),
    [stage, archivedStatus],
  );
  const shown = useStage(apiKey, stage, statuses);

  useLive({
    change: ({ action, referral }) => {
      shown.merge(referral);
      const need = referral.overview.need.length > 80 ? `${referral.overview.need.slice(0, 80)}…` : referral.overview.need;
      if (action === ReferralAction.RECEIVE) announce(t.arrived(referral.id, need));
      if (action === ReferralAction.MISS || action === ReferralAction.EXPIRE) {
        announce(t.lapsed(referral.id, t.statuses[referral.status]));
      }
    },
    resync: shown.reload,
  });

  const tabs: Tab<ReferralStage>[] = STAGES.map((key) => ({
    key,
    label: shown.counts ? `${t.stages[key]} (${shown.counts[key]})` : t.stages[key],
  }));
  const select = (next: ReferralStage) => {
    if (next === stage) shown.reload();
    setStage(next);
  };

  return (
    <Tabs label={t.stagesLabel} tabs={tabs} selected={stage} onSelect={select}>
      {stage === ReferralStage.ARCHIVED && (
        <div class="filters">
          <label for="archived-status">{t.status}</label>
          <select
            id="archived-status"
            value={archivedStatus}
            onChange={(e) => setArchivedStatus(e.currentTarget.value as ReferralStatus | "")}
          >
            <option value="">{t.allArchived}</option>
            {statusesInStage(ReferralStage.ARCHIVED).map((status) => (
              <option key={status} value={status}>
                {t.statuses[status]}
              </option>
            ))}
          </select>
        </div>
      )}
      {shown.error && (
        <div class="error" role="alert">
          <p>{t.couldNotLoadReferrals(describeError(shown.error, t))}</p>
          <button type="button" onClick={shown.reload}>
            {t.tryAgain}
          </button>
        </div>
      )}
      {!shown.loading && !shown.error && shown.referrals.length === 0 && <p class="empty">{t.noReferrals}</p>}
      <div class="referral-list" aria-busy={shown.loading}>
        {shown.referrals.map((referral) => (
          <ReferralCard
            key={referral.id}
            apiKey={apiKey}
            referral={referral}
            canAct={true}
            onChanged={shown.merge}
            moved={referral.stage === stage ? undefined : t.nowIn(t.stages[referral.stage])}
          />
        ))}
      </div>
      {shown.hasNextPage && (
        <button type="button" class="secondary more" disabled={shown.loading} onClick={shown.loadMore}>
          {t.showMore}
        </button>
      )}
    </Tabs>
  );
}
