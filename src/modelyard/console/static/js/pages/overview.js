// Overview: counts by phase, recent jobs, and the first steps for a new user.
import { h, add, clear, fmtTime, fmtDuration, phaseBadge } from '../dom.js';
import { t } from '../i18n.js';
import { searchJobs } from '../api.js';
import { errorPanel } from '../errors.js';

const COUNTS = [
  ['running', ['Running'], 'run'],
  ['queued', ['Creating', 'Pending'], 'wait'],
  ['failed', ['Failed', 'Abnormal'], 'bad'],
  ['completed', ['Completed'], 'ok'],
];

export function jobRow(job) {
  const s = job.status || {};
  return h('tr', { 'data-job-id': job.metadata.id },
    h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(job.metadata.id)}` }, job.metadata.name)),
    h('td', null, job.algorithm && job.algorithm.name ? job.algorithm.name : '—'),
    h('td', null, phaseBadge(s.phase, s.secondary_phase)),
    h('td', null, fmtTime(job.metadata.create_time)),
    h('td', { class: 'num' }, fmtDuration(s.duration)));
}

export function jobTable(items) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list jobs' },
    h('thead', null, h('tr', null, ['jobs.name', 'jobs.algorithm', 'jobs.status', 'jobs.created', 'jobs.duration']
      .map((k) => h('th', { class: k === 'jobs.duration' ? 'num' : null }, t(k))))),
    h('tbody', null, items.map(jobRow))));
}

export async function render(main) {
  const cards = h('div', { class: 'cards' }, h('div', { class: 'loading' }, t('common.loading')));
  const recent = h('section', { class: 'panel' });
  add(main, 
    h('div', { class: 'page-head' }, h('h1', null, t('overview.title')),
      h('div', { class: 'actions' },
        h('a', { class: 'button secondary', href: '#/algorithms/new' }, t('algorithms.create')),
        h('a', { class: 'button primary', href: '#/jobs/new' }, t('jobs.create')))),
    cards, recent,
    h('section', { class: 'panel start' },
      h('h2', null, t('overview.start_title')),
      h('ol', { class: 'steps' },
        h('li', null, h('a', { href: '#/storage' }, t('overview.step_storage')), ' — ', t('overview.step_storage_hint')),
        h('li', null, h('a', { href: '#/algorithms/new' }, t('overview.step_algorithm')), ' — ', t('overview.step_algorithm_hint')),
        h('li', null, h('a', { href: '#/jobs/new' }, t('overview.step_job')), ' — ', t('overview.step_job_hint')),
        h('li', null, t('overview.step_watch'), ' — ', t('overview.step_watch_hint')))));

  async function refresh() {
    try {
      const counts = await Promise.all(COUNTS.map(([, phases]) =>
        searchJobs({ limit: 1, filters: [{ key: 'phase', operator: 'in', value: phases }] })));
      add(clear(cards), ...COUNTS.map(([key, phases, cls], i) => h('a', {
        class: `card ${cls}`, href: `#/jobs?phase=${key}`, 'data-count': key,
      }, h('div', { class: 'count' }, String(counts[i].total)), h('div', { class: 'label' }, t(`overview.${key}`)))));
      const latest = await searchJobs({ limit: 8 });
      add(clear(recent), h('h2', null, t('overview.recent')),
        latest.items.length ? jobTable(latest.items) : h('div', { class: 'empty' }, t('overview.no_jobs'), ' ',
          h('a', { href: '#/jobs/new' }, t('jobs.create'))));
    } catch (err) {
      clear(cards).appendChild(errorPanel(err));
    }
  }
  await refresh();
  const timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}
