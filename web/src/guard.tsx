import type { ComponentChildren } from "preact";
import { useErrorBoundary } from "preact/hooks";
import { useWords } from "./i18n.js";

/** A view that fails to render says so and offers a way back, instead of leaving a blank page. */
export function Guard({ children }: { children: ComponentChildren }) {
  const t = useWords();
  const [error, reset] = useErrorBoundary((caught) => console.error(caught));
  if (!error) return <>{children}</>;
  return (
    <div class="error" role="alert">
      <p>{t.viewFailed}</p>
      <button type="button" onClick={reset}>
        {t.tryAgain}
      </button>
    </div>
  );
}
