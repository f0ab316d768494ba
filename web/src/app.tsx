import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ErrorCode } from "../../src/graphql/error-codes.js";
import { AnalystView } from "./analyst/analyst-view.js";
import { ApiError, describeError, graphql, keyRefusals } from "./api/graphql.js";
import { Guard } from "./guard.js";
import { initialLanguage, type Language, LanguageContext, rememberLanguage, useWords, WORDS } from "./i18n.js";
import { LiveContext, useLiveHub } from "./live-hub.js";
import { PartnerView } from "./partner/partner-view.js";
import { ReferralPage } from "./referral-page.js";
import { referralIdIn, usePath } from "./router.js";
import { forgetKey, storedKey, storeKey } from "./session.js";
import { SignIn } from "./sign-in.js";

interface Viewer {
  role: "ADMIN" | "ANALYST" | "PARTNER" | "INTAKE";
  label: string;
  partner: { id: string; name: string } | null;
}

interface Session {
  apiKey: string;
  viewer: Viewer;
}

export function App() {
  const [language, setLanguage] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const choose = (chosen: Language) => {
    rememberLanguage(chosen);
    setLanguage(chosen);
  };
  return (
    <LanguageContext.Provider value={WORDS[language]}>
      <Dashboard picker={<LanguagePicker language={language} onChange={choose} />} />
    </LanguageContext.Provider>
  );
}

function Dashboard({ picker }: { picker: ComponentChildren }) {
  const t = useWords();
  // The words at the moment an event arrives, for the listeners set up once.
  const words = useRef(t);
  words.current = t;
  const [session, setSession] = useState<Session | null>(null);
  const [signingIn, setSigningIn] = useState(() => storedKey() !== null);
  const [signInError, setSignInError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const [path] = usePath();

  const signOut = useCallback((why: string | null = null) => {
    forgetKey();
    setSession(null);
    setAnnouncement("");
    setSignInError(why);
  }, []);

  const signIn = async (apiKey: string) => {
    setSigningIn(true);
    setSignInError(null);
    try {
      const { me } = await graphql<{ me: Viewer }>(apiKey, "query Me { me { role label partner { id name } } }");
      storeKey(apiKey);
      setSession({ apiKey, viewer: me });
    } catch (failure) {
      const refused = failure instanceof ApiError && failure.code === ErrorCode.UNAUTHENTICATED;
      // A server that cannot be reached says nothing about the key: keep it for the next try.
      if (refused) forgetKey();
      setSignInError(refused ? words.current.keyRefused(failure.message) : describeError(failure, words.current));
    } finally {
      setSigningIn(false);
    }
  };

  useEffect(() => {
    const key = storedKey();
    if (key) void signIn(key);
    const refused = (event: Event) => signOut(words.current.signedOut((event as CustomEvent<string>).detail));
    keyRefusals.addEventListener("refused", refused);
    return () => keyRefusals.removeEventListener("refused", refused);
  }, []);

  const isPartner = session?.viewer.role === "PARTNER";
  const live = useLiveHub(isPartner ? session.apiKey : null, (reason) =>
    signOut(words.current.signedOut(reason || words.current.liveClosed)),
  );

  if (!session) {
    return (
      <>
        <div class="top-right">{picker}</div>
        <SignIn busy={signingIn} error={signInError} onSignIn={(key) => void signIn(key)} />
      </>
    );
  }
  const { viewer } = session;

  return (
    <LiveContext.Provider value={live.hub}>
      <header class="top">
        <a class="brand" href="/">
          {t.brand}
        </a>
        <span class="who">{viewer.partner?.name ?? viewer.label}</span>
        {live.state && <span class={`live-state ${live.state}`}>{t.live[live.state]}</span>}
        {picker}
        <button type="button" class="secondary" onClick={() => signOut()}>
          {t.signOut}
        </button>
      </header>
      <div class="announcer" role="status" aria-live="polite">
        {announcement}
      </div>
      <main>
        <Guard>
          <View session={session} path={path} announce={setAnnouncement} />
        </Guard>
      </main>
    </LiveContext.Provider>
  );
}

function LanguagePicker({ language, onChange }: { language: Language; onChange(language: Language): void }) {
  const t = useWords();
  return (
    <label class="language">
      {t.language}{" "}
      <select value={language} onChange={(e) => onChange(e.currentTarget.value as Language)}>
        {(Object.keys(WORDS) as Language[]).map((code) => (
          <option key={code} value={code} lang={code}>
            {WORDS[code].languageName}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What a signed-in key sees: a referral's own page at its link, else the view of its role. */
function View({ session, path, announce }: { session: Session; path: string; announce(message: string): void }) {
  const t = useWords();
  const { apiKey, viewer } = session;
  const deepLink = referralIdIn(path);
  if (deepLink) return <ReferralPage apiKey={apiKey} id={deepLink} canAct={viewer.role === "PARTNER" || viewer.role === "ADMIN"} />;
  switch (viewer.role) {
    case "PARTNER":
      return (
        <>
          <h1>{t.referralsTitle}</h1>
          <PartnerView apiKey={apiKey} announce={announce} />
        </>
      );
    case "ANALYST":
    case "ADMIN":
      return (
        <>
          <h1>{t.analyticsTitle}</h1>
          <AnalystView apiKey={apiKey} />
        </>
      );
    default:
      return <p>{t.intakeKey}</p>;
  }
}
