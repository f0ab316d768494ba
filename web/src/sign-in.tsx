import { useState } from "preact/hooks";
import { useWords } from "./i18n.js";

interface Props {
  busy: boolean;
  error: string | null;
  onSignIn(apiKey: string): void;
}

/** The key is checked by asking the server who it is; nothing is shown until it answers. */
export function SignIn({ busy, error, onSignIn }: Props) {
  const t = useWords();
  const [apiKey, setApiKey] = useState("");
  return (
    <main class="sign-in">
      <h1>{t.brand}</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (apiKey.trim()) onSignIn(apiKey.trim());
        }}
      >
        <label for="api-key">{t.apiKey}</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={apiKey}
          aria-describedby={error ? "sign-in-error" : "api-key-help"}
          aria-invalid={error ? true : undefined}
          onInput={(e) => setApiKey(e.currentTarget.value)}
        />
        <p id="api-key-help" class="help">
          {t.apiKeyHelp}
        </p>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t.signingIn : t.signIn}
        </button>
      </form>
    </main>
  );
}
