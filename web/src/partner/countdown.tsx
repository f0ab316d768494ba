import { useEffect, useState } from "preact/hooks";
import { formatInstant, formatRemaining } from "../format.js";
import { useWords } from "../i18n.js";

const DAY_MS = 24 * 3600 * 1000;

/** One timer for every countdown on the page, ticking once a second while any is shown. */
const watchers = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    watchers.add(setNow);
    timer ??= setInterval(() => {
      const now = Date.now();
      for (const watch of watchers) watch(now);
    }, 1000);
    return () => {
      watchers.delete(setNow);
      if (watchers.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return now;
}

/** Time left to answer; red under 24 hours. Not a live region: it would speak every second. */
export function Countdown({ respondBy }: { respondBy: string }) {
  const t = useWords();
  const remaining = new Date(respondBy).getTime() - useNow();
  return (
    <p class={remaining < DAY_MS ? "countdown urgent" : "countdown"}>
      {t.respondBy} <time dateTime={respondBy}>{formatInstant(respondBy)}</time>: <strong>{formatRemaining(remaining, t.remaining)}</strong>
    </p>
  );
}
