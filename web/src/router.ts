import { useEffect, useState } from "preact/hooks";

/** The page's path, following links inside the app without a reload and the browser's back and forward. */
export function usePath(): [string, (path: string) => void] {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const popped = () => setPath(window.location.pathname);
    const clicked = (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const link = (event.target as Element | null)?.closest?.("a[href^='/']");
      if (!link || link.getAttribute("target")) return;
      event.preventDefault();
      navigate(link.getAttribute("href")!);
    };
    window.addEventListener("popstate", popped);
    document.addEventListener("click", clicked);
    return () => {
      window.removeEventListener("popstate", popped);
      document.removeEventListener("click", clicked);
    };
  }, []);
  const navigate = (next: string) => {
    if (next !== window.location.pathname) window.history.pushState(null, "", next);
    setPath(next);
    window.scrollTo(0, 0);
  };
  return [path, navigate];
}

/** The referral id of a deep link (/referrals/<id>), if the path is one. */
export function referralIdIn(path: string): string | null {
  return /^\/referrals\/(\d+)\/?$/.exec(path)?.[1] ?? null;
}
