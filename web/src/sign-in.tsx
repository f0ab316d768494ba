import { useState } from "preact/hooks";

interface Props {
  busy: boolean;
  error: string | null;
  onSignIn(apiKey: string): void;
}

/** The key is checked by asking the server who it is; nothing is shown until it answers. */
export function SignIn({ busy, error, onSignIn }: Props) {
  const [apiKey, setApiKey] = useState("");
  return (
    <main class="sign-in">
      <h1>Partner referrals</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (apiKey.trim()) onSignIn(apiKey.trim());
        }}
      >
        <label for="api-key">API key</label>
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
          Your key is kept in this tab only, until you sign out or close it.
        </p>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
