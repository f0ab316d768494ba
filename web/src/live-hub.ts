import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { type LiveChange, type LiveState, watchReferrals } from "./api/live.js";

interface Listener {
  change?(change: LiveChange): void;
  resync?(): void;
}

/** One graphql-ws connection for the signed-in partner, shared by whatever view is shown. */
export interface LiveHub {
  listen(listener: Listener): () => void;
}

export const LiveContext = createContext<LiveHub | null>(null);

/** Opens the live feed for `apiKey` (none when null) and returns its hub and connection state. */
export function useLiveHub(apiKey: string | null, onRefused: (reason: string) => void): { hub: LiveHub | null; state: LiveState | null } {
  const [state, setState] = useState<LiveState | null>(null);
  const [hub, setHub] = useState<LiveHub | null>(null);
  const refused = useRef(onRefused);
  refused.current = onRefused;
  useEffect(() => {
    if (!apiKey) return;
    const listeners = new Set<Listener>();
    setHub({
      listen: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
    const stop = watchReferrals(apiKey, {
      change: (change) => {
        for (const listener of listeners) listener.change?.(change);
      },
      resync: () => {
        for (const listener of listeners) listener.resync?.();
      },
      state: (next, reason) => {
        setState(next);
        if (next === "refused") refused.current(reason ?? "");
      },
    });
    return () => {
      stop();
      setHub(null);
      setState(null);
    };
  }, [apiKey]);
  return { hub, state };
}

/** Receives the live changes while the calling component is shown. */
export function useLive(listener: Listener): void {
  const hub = useContext(LiveContext);
  const current = useRef(listener);
  current.current = listener;
  useEffect(
    () =>
      hub?.listen({
        change: (change) => current.current.change?.(change),
        resync: () => current.current.resync?.(),
      }),
    [hub],
  );
}
