import { ReferralAction } from "../../src/referrals/lifecycle.js";

/** "NEGOTIATING" -> "Negotiating": the enum's words, as people read them. */
export function titleCase(value: string): string {
  const words = value.toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ACTION_WORDS: Record<ReferralAction, string> = {
  [ReferralAction.RECEIVE]: "Received",
  [ReferralAction.EXPRESS_INTEREST]: "Interested",
  [ReferralAction.IGNORE]: "Passed (no thanks)",
  [ReferralAction.ACCEPT]: "Accepted",
  [ReferralAction.DECLINE]: "Declined",
  [ReferralAction.UPDATE_ESTIMATE]: "Estimate revised",
  [ReferralAction.MARK_WON]: "Won",
  [ReferralAction.MARK_LOST]: "Lost",
  [ReferralAction.SET_EXTERNAL_REFERENCE]: "CRM reference set",
  [ReferralAction.MISS]: "Missed: no answer in time",
  [ReferralAction.EXPIRE]: "Expired: no decision in time",
};

export function actionWords(action: ReferralAction): string {
  return ACTION_WORDS[action];
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatInstant(iso: string): string {
  return dateTime.format(new Date(iso));
}

export function formatMoney(amount: string, currency: string): string {
  const value = Number(amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

/** "2 d 03 h 04 min" left, down to the second in the last hour. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return "deadline passed";
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (days > 0) return `${days} d ${pad(hours)} h ${pad(minutes)} min left`;
  if (hours > 0) return `${hours} h ${pad(minutes)} min left`;
  return `${minutes} min ${pad(seconds % 60)} s left`;
}

/** "2026-03" -> "Mar 2026". */
export function formatMonth(month: string): string {
  const [year, m] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" }).format(Date.UTC(year, m - 1, 1));
}

/** "SIZE_50_TO_249" -> "50–249 employees", "SIZE_5000_PLUS" -> "5000+ employees". */
export function formatCompanySize(size: string): string {
  const range = size
    .replace(/^SIZE_/, "")
    .replace("_TO_", "–")
    .replace("_PLUS", "+");
  return `${range} employees`;
}
