// Texts of the UI: Russian by default, Uzbek (Latin script) and English switchable (kept in localStorage).
// Uzbek writes o‘ and g‘ with ‘ (U+2018) and the tutuq belgisi with ’ (U+2019), as the API messages do.
import { en } from "./texts/en";
import { ru, type Key } from "./texts/ru";
import { uz } from "./texts/uz";

export type Lang = "ru" | "uz" | "en";

/** The languages in the order of the switcher. */
export const LANGS: readonly Lang[] = ["ru", "uz", "en"];

const TEXTS: Record<Lang, Record<Key, string>> = { ru, uz, en };
/** The locale of dates and numbers for each language. */
const LOCALES: Record<Lang, string> = { ru: "ru-RU", uz: "uz-UZ", en: "en-US" };
const STORE = "crm.lang";

function initial(): Lang {
  const saved = localStorage.getItem(STORE);
  return (LANGS as readonly string[]).includes(saved ?? "") ? (saved as Lang) : "ru";
}

let current: Lang = initial();
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

/** The locale of `toLocaleString` for the chosen language: "ru-RU", "uz-UZ" or "en-US". */
export function locale(): string {
  return LOCALES[current];
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(STORE, next);
  document.documentElement.lang = next;
  listeners.forEach((fn) => fn());
}

export function onLangChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function t(key: Key, params?: Record<string, string | number>): string {
  let text = TEXTS[current][key] ?? key;
  for (const [k, v] of Object.entries(params ?? {})) text = text.replace(`{${k}}`, String(v));
  return text;
}

export type TextKey = Key;
document.documentElement.lang = current;
