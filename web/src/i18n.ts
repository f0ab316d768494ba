import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { EN, type Words } from "./words/en.js";
import { FR } from "./words/fr.js";

export type { Words };

/**
 * The dashboard's words in English and in French (words/en.ts, words/fr.ts), the partners' two
 * languages (their profiles' e-mail locales). The French follows the original Partner Center text:
 * Je suis intéressé, Non merci, Évaluation, Négociation, Gagnée, Perdue… Dates and amounts follow the
 * browser's own locale.
 */
export type Language = "en" | "fr";

export const WORDS: Record<Language, Words> = { en: EN, fr: FR };

const STORED = "partner-referrals.language";

/** The language chosen on this device, else the browser's first of ours, else English. */
export function initialLanguage(): Language {
  const stored = localStorage.getItem(STORED);
  if (stored === "en" || stored === "fr") return stored;
  const preferred = navigator.languages.map((tag) => tag.slice(0, 2)).find((tag) => tag === "en" || tag === "fr");
  return preferred ?? "en";
}

/** Only a language the person chose is remembered: otherwise the browser's preference keeps deciding. */
export function rememberLanguage(language: Language): void {
  localStorage.setItem(STORED, language);
}

export const LanguageContext = createContext<Words>(EN);

/** The words of the page's language. */
export function useWords(): Words {
  return useContext(LanguageContext);
}
