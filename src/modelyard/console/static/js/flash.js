// One-shot messages carried across a navigation (e.g. "Algorithm saved").
import { h } from './dom.js';

export function flash(text, kind = 'ok', extra = []) {
  sessionStorage.setItem('modelyard.flash', JSON.stringify({ text, kind, extra }));
}

export function takeFlash() {
  const raw = sessionStorage.getItem('modelyard.flash');
  if (!raw) return null;
  sessionStorage.removeItem('modelyard.flash');
  try {
    const { text, kind, extra } = JSON.parse(raw);
    return h('div', { class: `panel flash ${kind}`, role: 'status' }, text,
      extra && extra.length ? h('ul', null, extra.map((x) => h('li', null, x))) : null);
  } catch { return null; }
}
