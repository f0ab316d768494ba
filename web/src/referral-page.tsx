import { useEffect, useState } from "preact/hooks";
import { describeError } from "./api/graphql.js";
import { loadReferral, type Referral } from "./api/referrals.js";
import { useWords } from "./i18n.js";
import { useLive } from "./live-hub.js";
import { ReferralCard } from "./partner/referral-card.js";

interface Props {
  apiKey: string;
  id: string;
  canAct: boolean;
}

/** /referrals/<id>, the link in the e-mails: that referral alone, kept up to date by the live feed. */
export function ReferralPage({ apiKey, id, canAct }: Props) {
  const t = useWords();
  const [referral, setReferral] = useState<Referral | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const load = () => {
    setError(null);
    loadReferral(apiKey, id).then(setReferral, (failure) => setError(failure as Error));
  };
  useEffect(load, [apiKey, id]);
  useLive({
    change: ({ referral: changed }) => {
      if (changed.id === id) setReferral((shown) => (shown && shown.version > changed.version ? shown : changed));
    },
    resync: load,
  });

  return (
    <section aria-label={t.referral(id)}>
      <p>
        <a href="/">{t.allReferrals}</a>
      </p>
      {error && (
        <p class="error" role="alert">
          {t.couldNotLoadReferral(id, describeError(error, t))}
        </p>
      )}
      {referral === null && <p class="error">{t.noSuchReferral(id)}</p>}
      {referral && <ReferralCard apiKey={apiKey} referral={referral} canAct={canAct} onChanged={setReferral} />}
    </section>
  );
}
