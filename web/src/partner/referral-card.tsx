import type { Referral } from "../api/referrals.js";
import { formatCompanySize, formatMoney } from "../format.js";
import { useWords } from "../i18n.js";
import { ActionBar } from "./action-bar.js";
import { Countdown } from "./countdown.js";
import { Timeline } from "./timeline.js";

interface Props {
  apiKey: string;
  referral: Referral;
  /** Whether this key may act on it (a partner's own referral); analysts only read. */
  canAct: boolean;
  onChanged(referral: Referral): void;
  /** Said when the referral left the tab it is shown in, e.g. after an action. */
  moved?: string;
}

function Fit({ referral }: { referral: Referral }) {
  const t = useWords();
  if (referral.fitScore === null) return <p class="fit">{t.noFitYet}</p>;
  const percent = Math.round(referral.fitScore * 100);
  return (
    <div class="fit">
      <p>
        {t.fitScore}: <strong>{percent} %</strong> <meter min={0} max={100} value={percent} aria-hidden="true" />
      </p>
      {referral.fitReasons.length > 0 && (
        <ul aria-label={t.whyFit}>
          {referral.fitReasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Customer({ customer }: { customer: NonNullable<Referral["customer"]> }) {
  const t = useWords();
  return (
    <section class="customer" aria-label={t.customer}>
      <h4>{t.customer}</h4>
      <dl>
        <dt>{t.company}</dt>
        <dd>{customer.companyName}</dd>
        <dt>{t.contact}</dt>
        <dd>{customer.contactName}</dd>
        <dt>{t.email}</dt>
        <dd>
          <a href={`mailto:${customer.email}`}>{customer.email}</a>
        </dd>
        {customer.phone && (
          <>
            <dt>{t.phone}</dt>
            <dd>
              <a href={`tel:${customer.phone}`}>{customer.phone}</a>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function Deal({ referral }: { referral: Referral }) {
  const t = useWords();
  const estimate = referral.estimatedDealValue;
  const final = referral.finalDealValue;
  if (!estimate && !final) return null;
  return (
    <p class="deal">
      {final ? t.deal : t.estimatedDeal}: <strong>{formatMoney((final ?? estimate)!.amount, (final ?? estimate)!.currency)}</strong>
      {(referral.finalCloseDate ?? referral.estimatedCloseDate) && t.closing((referral.finalCloseDate ?? referral.estimatedCloseDate)!)}
    </p>
  );
}

/** One referral as an article: the customer's need in full, its fit, its deadline, its actions and its history. */
export function ReferralCard({ apiKey, referral, canAct, onChanged, moved }: Props) {
  const t = useWords();
  const { overview } = referral;
  const headingId = `referral-${referral.id}`;
  return (
    <article class="referral" aria-labelledby={headingId} data-status={referral.status} tabIndex={-1}>
      <header>
        <h3 id={headingId}>
          <a href={`/referrals/${referral.id}`}>{t.referral(referral.id)}</a>
        </h3>
        <span class={`badge status-${referral.status.toLowerCase()}`}>{t.statuses[referral.status]}</span>
      </header>
      {moved && <p class="moved">{moved}</p>}
      {referral.respondBy && <Countdown respondBy={referral.respondBy} />}
      <p class="need">{overview.need}</p>
      <dl class="facts">
        <dt>{t.companySize}</dt>
        <dd>{formatCompanySize(overview.companySize, t.employees)}</dd>
        <dt>{t.industry}</dt>
        <dd>{overview.industry ?? t.notGiven}</dd>
        <dt>{t.region}</dt>
        <dd>{overview.region}</dd>
        <dt>{t.keywords}</dt>
        <dd>{overview.keywords.length > 0 ? overview.keywords.join(", ") : t.none}</dd>
        {referral.externalReferenceId && (
          <>
            <dt>{t.crmReference}</dt>
            <dd>{referral.externalReferenceId}</dd>
          </>
        )}
      </dl>
      <Fit referral={referral} />
      <Deal referral={referral} />
      {referral.reason && <p class="reason">{t.reason(referral.reason)}</p>}
      {referral.customer && <Customer customer={referral.customer} />}
      {canAct && <ActionBar apiKey={apiKey} referral={referral} onChanged={onChanged} />}
      <Timeline events={referral.events} />
    </article>
  );
}
