import type { ComponentChildren } from "preact";
import { useErrorBoundary } from "preact/hooks";

/** A view that fails to render says so and offers a way back, instead of leaving a blank page. */
export function Guard({ children }: { children: ComponentChildren }) {
  const [error, reset] = useErrorBoundary((caught) => console.error(caught));
  if (!error) return <>{children}</>;
  return (
    <div class="error" role="alert">
      <p>This view failed to show. Your key and the server are fine; try it again.</p>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </div>
  );
}
