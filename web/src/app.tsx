import { useCallback, useEffect, useState } from "preact/hooks";
import { AnalystView } from "./analyst/analyst-view.js";
import { ApiError, describeError, graphql, keyRefusals } from "./api/graphql.js";
import type { LiveState } from "./api/live.js";
import { Guard } from "./guard.js";
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

const LIVE_WORDS: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  refused: "Live updates refused",
};

export function App() {
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
      const refused = failure instanceof ApiError && failure.code === "UNAUTHENTICATED";
      // A server that cannot be reached says nothing about the key: keep it for the next try.
      if (refused) forgetKey();
      setSignInError(refused ? `This key was refused: ${failure.message}` : describeError(failure));
    } finally {
      setSigningIn(false);
    }
  };

  useEffect(() => {
    const key = storedKey();
    if (key) void signIn(key);
    const refused = (event: Event) => signOut(`You were signed out: ${(event as CustomEvent<string>).detail}`);
    keyRefusals.addEventListener("refused", refused);
    return () => keyRefusals.removeEventListener("refused", refused);
  }, []);

  const isPartner = session?.viewer.role === "PARTNER";
  const live = useLiveHub(isPartner ? session.apiKey : null, (reason) => signOut(`You were signed out: ${reason}`));

  if (!session) return <SignIn busy={signingIn} error={signInError} onSignIn={(key) => void signIn(key)} />;
  const { viewer } = session;

  return (
    <LiveContext.Provider value={live.hub}>
      <header class="top">
        <a class="brand" href="/">
          Partner referrals
        </a>
        <span class="who">{viewer.partner?.name ?? viewer.label}</span>
        {live.state && <span class={`live-state ${live.state}`}>{LIVE_WORDS[live.state]}</span>}
        <button type="button" class="secondary" onClick={() => signOut()}>
          Sign out
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

/** What a signed-in key sees: a referral's own page at its link, else the view of its role. */
function View({ session, path, announce }: { session: Session; path: string; announce(message: string): void }) {
  const { apiKey, viewer } = session;
  const deepLink = referralIdIn(path);
  if (deepLink) return <ReferralPage apiKey={apiKey} id={deepLink} canAct={viewer.role === "PARTNER" || viewer.role === "ADMIN"} />;
  switch (viewer.role) {
    case "PARTNER":
      return (
        <>
          <h1>Customer referrals</h1>
          <PartnerView apiKey={apiKey} announce={announce} />
        </>
      );
    case "ANALYST":
    case "ADMIN":
      return (
        <>
          <h1>Deal analytics</h1>
          <AnalystView apiKey={apiKey} />
        </>
      );
    default:
      return (
        <p>
          This is an intake key: it submits RFIs through the API (<code>submitRfi</code>) and has nothing to show here. Sign in with a
          partner or analyst key.
        </p>
      );
  }
}
