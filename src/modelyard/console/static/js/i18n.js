// Translations: one JSON file per language under /console/i18n/, English as the fallback.
const KEY = 'modelyard.lang';
export const LANGS = [['en', 'English'], ['zh-CN', '简体中文']];
let lang = 'en';
let table = {};
let fallback = {};

export function detectLang() {
  const saved = localStorage.getItem(KEY);
  if (saved && LANGS.some(([c]) => c === saved)) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

async function load(code) {
  const r = await fetch(`/console/i18n/${code}.json`);
  if (!r.ok) throw new Error(`i18n ${code}: ${r.status}`);
  return r.json();
}

export async function setLang(code, remember = false) {
  if (!Object.keys(fallback).length) fallback = await load('en');
  table = code === 'en' ? fallback : await load(code);
  lang = code;
  document.documentElement.lang = code;
  if (remember) localStorage.setItem(KEY, code);
}

export function getLang() { return lang; }

// t('jobs.title'), t('jobs.count', {n: 3}) with {n} placeholders; `dflt` when no translation.
export function t(key, vars = {}, dflt) {
  let s = table[key] ?? fallback[key] ?? dflt ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split(`{${k}}`).join(String(v));
  return s;
}
