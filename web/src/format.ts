import type { Words } from "./i18n.js";

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

/** "2 d 03 h 04 min left", down to the second in the last hour. */
export function formatRemaining(ms: number, words: Words["remaining"]): string {
  if (ms <= 0) return words.passed;
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (days > 0) return `${days} ${words.days} ${pad(hours)} ${words.hours} ${pad(minutes)} ${words.minutes} ${words.left}`;
  if (hours > 0) return `${hours} ${words.hours} ${pad(minutes)} ${words.minutes} ${words.left}`;
  return `${minutes} ${words.minutes} ${pad(seconds % 60)} ${words.seconds} ${words.left}`;
}

/** "2026-03" -> "Mar 2026". */
export function formatMonth(month: string): string {
  const [year, m] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" }).format(Date.UTC(year, m - 1, 1));
}

/** "SIZE_50_TO_249" -> "50–249 employees", "SIZE_5000_PLUS" -> "5000+ employees". */
export function formatCompanySize(size: string, employees: Words["employees"]): string {
  const range = size
    .replace(/^SIZE_/, "")
    .replace("_TO_", "–")
    .replace("_PLUS", "+");
  return employees(range);
}
