// The console shell: header, navigation, hash router, language and project switches.
import { h, add, clear } from './dom.js';
import { t, setLang, detectLang, getLang, LANGS } from './i18n.js';
import { project, setProject, auth, session, signIn, signOut, loadRole, ApiError } from './api.js';
import { errorPanel } from './errors.js';

const PAGES = [
  ['overview', '#/', 'nav.overview', () => import('./pages/overview.js')],
  ['algorithms', '#/algorithms', 'nav.algorithms', () => import('./pages/algorithms.js')],
  ['gallery', '#/gallery', 'nav.gallery', () => import('./pages/gallery.js')],
  ['jobs', '#/jobs', 'nav.jobs', () => import('./pages/jobs.js')],
  ['search', '#/search', 'nav.search', () => import('./pages/search.js')],
  ['filesystems', '#/filesystems', 'nav.filesystems', () => import('./pages/filesystems.js')],
  ['datasets', '#/datasets', 'nav.datasets', () => import('./pages/datasets.js')],
  ['storage', '#/storage', 'nav.storage', () => import('./pages/storage.js')],
];

let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(qs || ''));
  return { parts, query };
}

function shell() {
  const app = document.getElementById('app');
  clear(app);
  const langSel = h('select', { id: 'lang', 'aria-label': t('header.language'), 'data-testid': 'lang' },
    LANGS.map(([code, name]) => h('option', { value: code, selected: code === getLang() }, name)));
  langSel.addEventListener('change', async () => {
    await setLang(langSel.value, true);
    shell();
    route();
  });
  const projInput = h('input', { id: 'project', value: project(), size: 10, 'aria-label': t('header.project'), title: t('header.project_hint') });
  projInput.addEventListener('change', async () => { setProject(projInput.value.trim()); await loadRole(); route(); });
  const navToggle = h('button', { class: 'nav-toggle', type: 'button', 'aria-label': t('header.menu'), onclick: () => app.classList.toggle('nav-open') }, '☰');
  const nav = h('nav', { id: 'nav', 'aria-label': t('header.menu') },
    h('ul', null, PAGES.map(([id, href, key]) => h('li', null, h('a', { href, 'data-page': id, onclick: () => app.classList.remove('nav-open') }, t(key))))));
  const signOutButton = auth.mode === 'keys' && session()
    ? h('button', { type: 'button', class: 'small secondary', 'data-testid': 'sign-out', onclick: async () => { await signOut(); window.location.reload(); } }, t('auth.sign_out'))
    : null;
  add(app, 
    h('header', { class: 'topbar' },
      navToggle,
      h('a', { class: 'brand', href: '#/' }, h('img', { src: '/console/img/logo.svg', alt: '', width: 24, height: 24 }), h('span', null, 'ModelYard')),
      h('div', { class: 'spacer' }),
      h('label', { class: 'inline' }, h('span', { class: 'lbl' }, t('header.project')), projInput),
      h('label', { class: 'inline' }, h('span', { class: 'lbl' }, t('header.language')), langSel),
      signOutButton,
      h('a', { class: 'docs', href: '/docs', target: '_blank', rel: 'noopener' }, t('header.api_docs'))),
    nav,
    h('main', { id: 'main', tabindex: '-1' }));
  document.title = t('app.title');
}

function markNav(pageId) {
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.page === pageId) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
}

async function route() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const { parts, query } = parseHash();
  const first = parts[0] || 'overview';
  const page = PAGES.find(([id]) => id === first);
  const main = document.getElementById('main');
  clear(main);
  if (!page) {
    markNav(null);
    main.appendChild(h('div', { class: 'panel notice' }, t('common.not_found_page')));
    return;
  }
  markNav(page[0]);
  main.appendChild(h('div', { class: 'loading' }, t('common.loading')));
  try {
    const mod = await page[3]();
    if (seq !== renderSeq) return;
    clear(main);
    const ctx = { parts: parts.slice(1), query, isCurrent: () => seq === renderSeq };
    const result = await mod.render(main, ctx);
    if (seq !== renderSeq) { if (typeof result === 'function') result(); return; }
    if (typeof result === 'function') cleanup = result;
  } catch (err) {
    if (seq !== renderSeq) return;
    clear(main).appendChild(errorPanel(err));
    if (!(err instanceof ApiError)) console.error(err); // for developers; the page shows the message only
  }
}

export function navigate(hash) {
  if (window.location.hash === hash) route(); else window.location.hash = hash;
}

function signInDialog(message) {
  const ak = h('input', { id: 'ak', autocomplete: 'username' });
  const sk = h('input', { id: 'sk', type: 'password', autocomplete: 'current-password' });
  const err = h('div', { class: 'field-error' }, message || '');
  const dlg = h('dialog', { class: 'signin' },
    h('form', { method: 'dialog', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await signIn(ak.value.trim(), sk.value.trim());
        sk.value = '';
        dlg.close();
        window.location.reload();
      } catch (ex) {
        sk.value = '';
        err.textContent = ex.message;
        if (!err.isConnected) dlg.querySelector('.dialog-actions').before(err);
      }
    } },
      h('h3', null, t('auth.title')),
      h('p', { class: 'hint' }, t('auth.hint')),
      h('div', { class: 'field' }, h('label', { for: 'ak' }, t('auth.ak')), ak),
      h('div', { class: 'field' }, h('label', { for: 'sk' }, t('auth.sk')), sk),
      message ? err : null,
      h('div', { class: 'dialog-actions' }, h('button', { class: 'primary' }, t('auth.sign_in')))));
  document.body.appendChild(dlg);
  dlg.showModal();
}

async function boot() {
  await setLang(detectLang());
  try {
    const r = await fetch('/health');
    const health = await r.json();
    auth.mode = health.auth || 'local';
    auth.version = health.version;
  } catch { /* the pages will say the server is unreachable */ }
  shell();
  window.addEventListener('hashchange', route);
  window.addEventListener('modelyard:unauthorized', (e) => {
    if (!document.querySelector('dialog.signin')) signInDialog(e.detail && e.detail.error_msg);
  });
  if (auth.mode === 'keys' && !session()) { signInDialog(); return; }
  await loadRole();
  route();
}

boot();
