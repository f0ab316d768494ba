/** The API key lives in this tab's session storage only: closing the tab forgets it. */
const KEY = "partner-referrals.api-key";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(apiKey: string): void {
  sessionStorage.setItem(KEY, apiKey);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}
