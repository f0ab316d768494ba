import type { ReferralEvent } from "../api/referrals.js";
import { formatInstant } from "../format.js";
import { useWords } from "../i18n.js";

/** The referral's events, oldest first, as the server keeps them. */
export function Timeline({ events }: { events: ReferralEvent[] }) {
  const t = useWords();
  return (
    <section class="timeline" aria-label={t.timeline}>
      <h4>{t.timeline}</h4>
      <ol>
        {events.map((event) => (
          <li key={`${event.at}-${event.action}`}>
            <time dateTime={event.at}>{formatInstant(event.at)}</time> <strong>{t.events[event.action]}</strong>
            {event.from !== event.to && (
              <span class="move"> · {event.from ? `${t.statuses[event.from]} → ${t.statuses[event.to]}` : t.statuses[event.to]}</span>
            )}
            <span class="actor"> · {event.actor}</span>
            {event.note && <q>{event.note}</q>}
          </li>
        ))}
      </ol>
    </section>
  );
}
