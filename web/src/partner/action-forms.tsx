import { useState } from "preact/hooks";
import type { ActionForm } from "../api/actions.js";
import type { Referral } from "../api/referrals.js";
import { useWords } from "../i18n.js";

export interface FormProps {
  referral: Referral;
  busy: boolean;
  onSubmit(values: Record<string, unknown>): void;
  onCancel(): void;
}

const AMOUNT = /^\d{1,13}(\.\d{1,2})?$/;
const CURRENCIES = Intl.supportedValuesOf("currency");

/** Today in the browser's time zone, as YYYY-MM-DD: the earliest close date the server takes for an estimate. */
function today(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

let nextId = 0;
/** Ids that tie each label to its field, unique on the page. */
function useIds(...names: string[]): Record<string, string> {
  const [ids] = useState(() => {
    nextId += 1;
    return Object.fromEntries(names.map((name) => [name, `f${nextId}-${name}`]));
  });
  return ids;
}

function Buttons({ busy, onCancel }: Pick<FormProps, "busy" | "onCancel">) {
  const t = useWords();
  return (
    <div class="form-buttons">
      <button type="submit" disabled={busy}>
        {t.confirm}
      </button>
      <button type="button" class="secondary" onClick={onCancel} disabled={busy}>
        {t.cancel}
      </button>
    </div>
  );
}

/**
 * One optional text, trimmed, empty sent as null: a reason (a textarea) or a CRM reference. Its
 * length is the server's limit for that field (referral.service.ts).
 */
function TextForm({ busy, onSubmit, onCancel, field, label, initial, maxLength, multiline }: FormProps & TextField) {
  const ids = useIds(field);
  const [text, setText] = useState(initial);
  const Field = multiline ? "textarea" : "input";
  return (
    <form
      class="action-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit({ [field]: text.trim() || null });
      }}
    >
      <label for={ids[field]}>{label}</label>
      <Field
        id={ids[field]}
        value={text}
        maxLength={maxLength}
        rows={multiline ? 2 : undefined}
        onInput={(e: Event) => setText((e.currentTarget as HTMLInputElement).value)}
      />
      <Buttons busy={busy} onCancel={onCancel} />
    </form>
  );
}

interface TextField {
  field: string;
  label: string;
  initial: string;
  maxLength: number;
  multiline: boolean;
}

/** Deal value, currency and close date: required to accept or revise, optional (defaulting to the estimate) when won. */
function DealForm({ referral, busy, onSubmit, onCancel, won }: FormProps & { won: boolean }) {
  const t = useWords();
  const ids = useIds("value", "currency", "date");
  const estimate = referral.estimatedDealValue;
  const [value, setValue] = useState(estimate?.amount ?? "");
  const [currency, setCurrency] = useState(estimate?.currency ?? "EUR");
  const [date, setDate] = useState(referral.estimatedCloseDate ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (event: Event) => {
    event.preventDefault();
    const amount = value.trim();
    if ((amount || !won) && !AMOUNT.test(amount)) return setProblem(t.amountHelp);
    if (!won && !date) return setProblem(t.closeDateNeeded);
    setProblem(null);
    if (won) onSubmit({ input: { dealValue: amount || null, currency: amount ? currency : null, closeDate: date || null } });
    else onSubmit({ input: { estimatedDealValue: amount, currency, estimatedCloseDate: date } });
  };
  return (
    <form class="action-form" onSubmit={submit} noValidate>
      <label for={ids.value}>{won ? t.finalDealValue : t.dealValue}</label>
      <input
        id={ids.value}
        inputMode="decimal"
        autoComplete="off"
        placeholder="1234.50"
        value={value}
        aria-invalid={problem ? true : undefined}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
      <label for={ids.currency}>{t.currency}</label>
      <select id={ids.currency} value={currency} onChange={(e) => setCurrency(e.currentTarget.value)}>
        {CURRENCIES.map((code) => (
          <option key={code}>{code}</option>
        ))}
      </select>
      <label for={ids.date}>{t.closeDate}</label>
      <input id={ids.date} type="date" min={won ? undefined : today()} value={date} onInput={(e) => setDate(e.currentTarget.value)} />
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <Buttons busy={busy} onCancel={onCancel} />
    </form>
  );
}

export function ActionFormFor({ form, ...props }: FormProps & { form: ActionForm }) {
  const t = useWords();
  switch (form) {
    case "reason":
      return <TextForm {...props} field="reason" label={t.reasonOptional} initial="" maxLength={1000} multiline={true} />;
    case "deal":
      return <DealForm {...props} won={false} />;
    case "won":
      return <DealForm {...props} won={true} />;
    case "reference":
      return (
        <TextForm
          {...props}
          field="externalReferenceId"
          label={t.referenceField}
          initial={props.referral.externalReferenceId ?? ""}
          maxLength={200}
          multiline={false}
        />
      );
    default:
      return null;
  }
}
