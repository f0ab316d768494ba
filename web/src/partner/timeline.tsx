import type { ReferralEvent } from "../api/referrals.js";
import { actionWords, formatInstant, titleCase } from "../format.js";

/** The referral's events, oldest first, as the server keeps them. */
export function Timeline({ events }: { events: ReferralEvent[] }) {
  return (
    <section class="timeline" aria-label="Timeline">
      <h4>Timeline</h4>
      <ol>
        {events.map((event) => (
          <li key={`${event.at}-${event.action}`}>
            <time dateTime={event.at}>{formatInstant(event.at)}</time> <strong>{actionWords(event.action)}</strong>
            {event.from !== event.to && (
              <span class="move"> · {event.from ? `${titleCase(event.from)} → ${titleCase(event.to)}` : titleCase(event.to)}</span>
            )}
            <span class="actor"> · {event.actor}</span>
            {event.note && <q>{event.note}</q>}
          </li>
        ))}
      </ol>
    </section>
  );
}
