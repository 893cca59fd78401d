// Shows an API error next to the control it is about, in the API's own words.
import { h } from './dom.js';
import { t } from './i18n.js';

export function clearErrors(root) {
  root.querySelectorAll('.field-error, .error-row, .form-error').forEach((el) => el.remove());
  root.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
}

// "a.b[2].c.d" -> ["a.b[2].c.d", "a.b[2].c", "a.b[2]", "a.b", "a"]
function candidates(field) {
  const out = [field];
  let f = field;
  for (;;) {
    const m = f.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
    if (!m || !m[1]) break;
    f = m[1];
    out.push(f);
  }
  return out;
}

function findControl(root, field) {
  for (const c of candidates(field)) {
    const el = root.querySelector(`[data-field="${CSS.escape(c)}"]`);
    if (el) return el;
  }
  return null;
}

// Places the message; returns the element that shows it. `summary` is where an error with
// no matching control goes (the form's top).
export function showError(root, err, summary) {
  const message = err.message || String(err);
  const target = err.field ? findControl(root, err.field) : null;
  let shown;
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    const row = target.closest('tr');
    if (row && !target.matches('tr')) {
      const cols = row.children.length;
      shown = h('tr', { class: 'error-row' }, h('td', { colspan: cols },
        h('div', { class: 'field-error', role: 'alert', 'data-error-for': err.field }, message)));
      row.after(shown);
    } else if (target.matches('tr')) {
      shown = h('tr', { class: 'error-row' }, h('td', { colspan: target.children.length },
        h('div', { class: 'field-error', role: 'alert', 'data-error-for': err.field }, message)));
      target.after(shown);
    } else {
      shown = h('div', { class: 'field-error', role: 'alert', 'data-error-for': err.field }, message);
      if (target.matches('input, select, textarea, button')) {
        const wrap = target.closest('.field');
        if (wrap) wrap.appendChild(shown); else target.after(shown);
      } else {
        target.appendChild(shown); // a section or a whole field: the message goes inside
      }
    }
    if (target.matches('input, select, textarea')) {
      target.focus({ preventScroll: true });
      // Once the user changes the value, the message no longer describes it.
      target.addEventListener('input', () => {
        target.removeAttribute('aria-invalid');
        shown.remove();
      }, { once: true });
    }
    shown.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }
  if (summary) {
    const box = h('div', { class: 'form-error', role: 'alert' },
      target ? t('form.fix_field') : message);
    summary.prepend(box);
    if (!target) box.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }
  return shown;
}

// A page-level panel for errors that are not about a field (never a stack trace).
export function errorPanel(err) {
  if (err && err.missingEndpoint) {
    return h('div', { class: 'panel notice', role: 'status' }, t('common.not_available'));
  }
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'panel error', role: 'alert' },
    h('strong', null, t('common.error')), ' ', msg);
}
