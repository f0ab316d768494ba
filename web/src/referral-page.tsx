import { useEffect, useState } from "preact/hooks";
import { describeError } from "./api/graphql.js";
import { loadReferral, type Referral } from "./api/referrals.js";
import { useLive } from "./live-hub.js";
import { ReferralCard } from "./partner/referral-card.js";

interface Props {
  apiKey: string;
  id: string;
  canAct: boolean;
}

/** /referrals/<id>, the link in the e-mails: that referral alone, kept up to date by the live feed. */
export function ReferralPage({ apiKey, id, canAct }: Props) {
  const [referral, setReferral] = useState<Referral | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    setError(null);
    loadReferral(apiKey, id).then(setReferral, (failure) => setError(describeError(failure)));
  };
  useEffect(load, [apiKey, id]);
  useLive({
    change: ({ referral: changed }) => {
      if (changed.id === id) setReferral((shown) => (shown && shown.version > changed.version ? shown : changed));
    },
    resync: load,
  });

  return (
    <section aria-label="Referral">
      <p>
        <a href="/">← All referrals</a>
      </p>
      {error && (
        <p class="error" role="alert">
          Could not load referral #{id}: {error}
        </p>
      )}
      {referral === null && <p class="error">Referral #{id} does not exist, or is not one of yours.</p>}
      {referral && <ReferralCard apiKey={apiKey} referral={referral} canAct={canAct} onChanged={setReferral} />}
    </section>
  );
}
