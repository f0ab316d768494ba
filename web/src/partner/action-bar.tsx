import { useRef, useState } from "preact/hooks";
import { ErrorCode } from "../../../src/graphql/error-codes.js";
import { actionsFor, type AvailableAction, perform } from "../api/actions.js";
import { ApiError, describeError } from "../api/graphql.js";
import { loadReferral, type Referral } from "../api/referrals.js";
import { useWords } from "../i18n.js";
import { ActionFormFor } from "./action-forms.js";

/** Refusals that mean the referral is no longer as shown. */
const OUTDATED = new Set<string>([ErrorCode.STALE_VERSION, ErrorCode.INVALID_TRANSITION]);

interface Props {
  apiKey: string;
  referral: Referral;
  onChanged(referral: Referral): void;
}

/**
 * The actions the lifecycle allows in the referral's status, each sent with the version on screen.
 * A STALE_VERSION or INVALID_TRANSITION answer means the page showed an old state of the referral
 * (changed through the API, or its deadline passed): it is reloaded, and the page says so. Any
 * other error stays next to it.
 */
export function ActionBar({ apiKey, referral, onChanged }: Props) {
  const t = useWords();
  const [open, setOpen] = useState<AvailableAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const actions = actionsFor(referral.status);
  const bar = useRef<HTMLDivElement>(null);

  const send = async (action: AvailableAction, values: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const changed = await perform(apiKey, referral, action, values);
      onChanged(changed);
      setOpen(null);
      setNotice(t.done(t.actions[action.action]!, t.statuses[changed.status]));
      // The button pressed may be gone: keep the keyboard in this referral rather than at the page's top.
      bar.current?.closest("article")?.focus();
    } catch (failure) {
      if (failure instanceof ApiError && OUTDATED.has(failure.code)) {
        setOpen(null);
        await reload();
      } else {
        setError(describeError(failure, t));
      }
    } finally {
      setBusy(false);
    }
  };

  const reload = async () => {
    try {
      const fresh = await loadReferral(apiKey, referral.id);
      if (fresh) onChanged(fresh);
      setNotice(t.changedMeanwhile + (fresh ? t.shownAsNow(t.statuses[fresh.status]) : ""));
    } catch (reloadFailure) {
      setError(`${t.changedMeanwhile} ${describeError(reloadFailure, t)}`);
    }
  };

  return (
    <div class="actions" ref={bar}>
      {actions.length > 0 && (
        <div class="action-buttons">
          {actions.map((action) => (
            <button
              type="button"
              key={action.action}
              class={action.form === "reference" ? "secondary" : undefined}
              disabled={busy}
              aria-expanded={action.form === "none" ? undefined : open?.action === action.action}
              onClick={() => (action.form === "none" ? void send(action, {}) : setOpen(open?.action === action.action ? null : action))}
            >
              {t.actions[action.action]}
            </button>
          ))}
        </div>
      )}
      {open && (
        <ActionFormFor
          key={open.action}
          form={open.form}
          referral={referral}
          busy={busy}
          onSubmit={(values) => void send(open, values)}
          onCancel={() => setOpen(null)}
        />
      )}
      {/* Always in the page, so that screen readers announce what is written into it. */}
      <p class="notice" role="status">
        {notice}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
