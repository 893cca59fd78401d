// Tiny DOM helpers: h() builds elements, no framework.
import { t } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (k === 'html') el.innerHTML = v; // only for trusted static markup
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Like el.append(), but skips null/undefined/false (native append would print "null").
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDuration(ms) {
  if (!ms && ms !== 0) return '—';
  let s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  const p = (n) => String(n).padStart(2, '0');
  return `${p(hh)}:${p(mm)}:${p(s)}`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0; let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

// A short stamp for default names: 20240131-235959
export function stamp(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const PHASE_CLASS = {
  Running: 'run', Creating: 'wait', Pending: 'wait', Completed: 'ok', Failed: 'bad',
  Abnormal: 'bad', Terminating: 'stop', Terminated: 'stop',
};

export function phaseBadge(phase, secondary) {
  const cls = PHASE_CLASS[phase] || 'wait';
  const label = t(`phase.${phase}`, {}, phase);
  const extra = secondary && secondary !== phase ? t(`phase.${secondary}`, {}, secondary) : null;
  return h('span', { class: `badge ${cls}`, 'data-phase': phase, title: extra ? `${phase} / ${secondary}` : phase },
    label, extra ? h('span', { class: 'secondary' }, ` · ${extra}`) : null);
}

export function field(labelKey, control, opts = {}) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: `field ${opts.class || ''}` },
    h('label', { for: id }, t(labelKey), opts.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    opts.hint ? h('div', { class: 'hint' }, opts.hint) : null);
}

export function empty(textKey, ...extra) {
  return h('div', { class: 'empty' }, t(textKey), ...extra);
}

export function isFinal(phase) {
  return ['Completed', 'Failed', 'Terminated', 'Abnormal'].includes(phase);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
