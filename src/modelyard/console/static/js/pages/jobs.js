// Training jobs: list with phase filters and search; create and detail live in their modules.
import { h, add, clear, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { searchJobs } from '../api.js';
import { errorPanel } from '../errors.js';
import { takeFlash } from '../flash.js';
import { jobTable } from './overview.js';

export const PHASE_FILTERS = [
  ['all', null],
  ['running', ['Running']],
  ['queued', ['Creating', 'Pending']],
  ['completed', ['Completed']],
  ['failed', ['Failed', 'Abnormal']],
  ['stopped', ['Terminating', 'Terminated']],
];
const PAGE = 20;

export async function render(main, ctx) {
  const [first] = ctx.parts;
  if (first === 'new') return (await import('./job_form.js')).render(main, ctx);
  if (first) return (await import('./job_detail.js')).render(main, ctx, first);
  return renderList(main, ctx);
}

async function renderList(main, ctx) {
  let phase = PHASE_FILTERS.some(([k]) => k === ctx.query.phase) ? ctx.query.phase : 'all';
  let offset = 0;
  const search = h('input', { type: 'search', placeholder: t('jobs.search'), 'aria-label': t('jobs.search'), value: ctx.query.q || '' });
  const chips = h('div', { class: 'chips', role: 'tablist', 'aria-label': t('jobs.status') });
  const body = h('div', null, h('div', { class: 'loading' }, t('common.loading')));
  const pager = h('div', { class: 'pager' });

  function drawChips() {
    add(clear(chips), ...PHASE_FILTERS.map(([key]) => h('button', {
      type: 'button', role: 'tab', class: `chip ${key === phase ? 'active' : ''}`, 'aria-selected': String(key === phase), 'data-filter': key,
      onclick: () => { phase = key; offset = 0; drawChips(); load(); },
    }, t(`jobs.filter_${key}`))));
  }

  async function load() {
    const filters = [];
    const phases = PHASE_FILTERS.find(([k]) => k === phase)[1];
    if (phases) filters.push({ key: 'phase', operator: 'in', value: phases });
    const q = search.value.trim();
    if (q) filters.push({ key: 'name', operator: 'like', value: [q] });
    try {
      const page = await searchJobs({ filters, offset, limit: PAGE });
      if (!ctx.isCurrent()) return;
      clear(body).appendChild(page.items.length ? jobTable(page.items)
        : h('div', { class: 'empty' }, t(q || phases ? 'common.no_match' : 'jobs.none'), ' ', q || phases ? null : h('a', { href: '#/jobs/new' }, t('jobs.create'))));
      clear(pager);
      if (page.total > PAGE) {
        add(pager, 
          h('button', { type: 'button', class: 'small secondary', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, t('common.previous')),
          h('span', null, t('common.range', { from: offset + 1, to: Math.min(offset + PAGE, page.total), total: page.total })),
          h('button', { type: 'button', class: 'small secondary', disabled: offset + PAGE >= page.total, onclick: () => { offset += PAGE; load(); } }, t('common.next')));
      }
    } catch (err) {
      clear(body).appendChild(errorPanel(err));
    }
  }

  add(main, 
    h('div', { class: 'page-head' }, h('h1', null, t('jobs.title')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/jobs/new' }, t('jobs.create')))),
    takeFlash(),
    h('div', { class: 'toolbar' }, chips, search),
    body, pager);
  drawChips();
  search.addEventListener('input', debounce(() => { offset = 0; load(); }, 300));
  await load();
  const timer = setInterval(load, 4000);
  return () => clearInterval(timer);
}
