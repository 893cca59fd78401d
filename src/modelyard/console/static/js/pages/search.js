// Automatic search: searches (jobs with policies.auto_search), their trials, the best trial,
// the objective per trial and parameter importance.
import { h, add, clear, fmtTime, fmtDuration, phaseBadge, isFinal } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, v2, searchJobs } from '../api.js';
import { errorPanel } from '../errors.js';
import { lineChart, barChart } from '../chart.js';

export async function render(main, ctx) {
  if (ctx.parts[0]) return renderSearch(main, ctx, ctx.parts[0]);
  return renderList(main, ctx);
}

const isSearch = (j) => !!(j.algorithm && j.algorithm.policies && j.algorithm.policies.auto_search);

async function renderList(main) {
  const body = h('div', null, h('div', { class: 'loading' }, t('common.loading')));
  add(main, h('div', { class: 'page-head' }, h('h1', null, t('search.title'))),
    h('p', { class: 'hint' }, t('search.hint')), body);
  try {
    const found = [];
    for (let offset = 0; offset < 500; offset += 50) {
      const page = await searchJobs({ offset, limit: 50 });
      found.push(...page.items.filter(isSearch));
      if (offset + 50 >= page.total) break;
    }
    let algos = null;
    try { algos = await get(v2('/search-algorithms')); } catch (err) { if (!err.missingEndpoint) throw err; }
    clear(body);
    if (algos === null) body.appendChild(h('div', { class: 'panel notice', 'data-testid': 'search-unavailable' }, t('search.unavailable')));
    if (!found.length) body.appendChild(h('div', { class: 'empty' }, t('search.none')));
    else {
      body.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', null, h('tr', null, ['jobs.name', 'search.algorithm', 'search.objective', 'jobs.status', 'jobs.created'].map((k) => h('th', null, t(k))))),
        h('tbody', null, found.map((j) => {
          const p = j.algorithm.policies.auto_search || {};
          const reward = (p.reward_attrs || [])[0] || {};
          const algo = ((p.algo_configs || [])[0] || {}).name || '—';
          return h('tr', null,
            h('td', null, h('a', { href: `#/search/${encodeURIComponent(j.metadata.id)}` }, j.metadata.name)),
            h('td', null, algo),
            h('td', { class: 'mono' }, reward.name ? `${reward.name} (${reward.mode || 'max'})` : '—'),
            h('td', null, phaseBadge(j.status.phase, j.status.secondary_phase)),
            h('td', null, fmtTime(j.metadata.create_time)));
        })))));
    }
    if (algos && (algos.search_algo_list || []).length) {
      body.appendChild(h('section', { class: 'panel' }, h('h2', null, t('search.algorithms')),
        h('ul', { class: 'algo-list' }, algos.search_algo_list.map((a) => h('li', null, h('strong', null, a.name || a.algorithm_name), ' — ', a.description || '')))));
    }
  } catch (err) {
    clear(body).appendChild(errorPanel(err));
  }
}

const TRIAL_CLASS = { completed: 'ok', running: 'run', pending: 'wait', failed: 'bad', metric_not_found: 'bad', early_stopped: 'stop', stopped: 'stop', skipped: 'stop' };
const num = (v) => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));

function paramsText(params) {
  return Object.entries(params || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(5)) : v}`).join(', ');
}

async function renderSearch(main, ctx, id) {
  const base = v2(`/training-jobs/${encodeURIComponent(id)}`);
  const head = h('h1', null);
  const best = h('section', { class: 'panel best', 'data-testid': 'best-trial' });
  const chart = h('section', { class: 'panel' });
  const importance = h('section', { class: 'panel', 'data-testid': 'importance' });
  const trials = h('section', { class: 'panel', 'data-testid': 'trials' });
  const status = h('div');
  add(main, h('div', { class: 'page-head' }, h('div', null, h('div', { class: 'crumb' }, h('a', { href: '#/search' }, t('search.title')), ' /'), head),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: `#/jobs/${encodeURIComponent(id)}` }, t('search.open_job')))),
  status, h('div', { class: 'grid2 wide' }, best, chart), trials, importance);
  let timer = null;
  let stopped = false;

  async function load() {
    let job;
    try {
      try { job = await get(`${base}/autosearch`); } catch (err) { if (err.missingEndpoint) job = await get(base); else throw err; }
    } catch (err) { clear(status).appendChild(errorPanel(err)); return; }
    if (!ctx.isCurrent()) return;
    add(clear(head), job.metadata.name, ' ', phaseBadge(job.status.phase, job.status.secondary_phase));
    const policy = (job.algorithm.policies || {}).auto_search || {};
    const reward = (policy.reward_attrs || [])[0] || {};
    const mode = (job.status.autosearch && job.status.autosearch.mode) || reward.mode || 'max';
    let data;
    try {
      data = await get(`${base}/autosearch-trials`, { limit: 500 });
    } catch (err) {
      clear(status).appendChild(errorPanel(err));
      clear(trials); clear(best); clear(chart); clear(importance);
      return;
    }
    clear(status);
    const list = data.trials || (data.items && data.items.data ? data.items.data.map((row) => Object.fromEntries(data.items.header.map((k, i) => [k, row[i]]))) : []);
    const done = list.filter((x) => x.value !== null && x.value !== undefined && x.status === 'completed');
    const pick = (a, b) => (mode === 'min' ? (a.value <= b.value ? a : b) : (a.value >= b.value ? a : b));
    const top = (job.status.autosearch && job.status.autosearch.best_trial) || (done.length ? done.reduce(pick) : null);

    add(clear(best), h('h2', null, t('search.best')));
    if (top) {
      add(best, h('dl', { class: 'kv' },
        h('dt', null, t('search.trial')), h('dd', null, `#${top.number}`),
        h('dt', null, reward.name || t('search.objective')), h('dd', { class: 'big' }, num(top.value)),
        h('dt', null, t('params.title')), h('dd', { class: 'mono' }, paramsText(top.params)),
        top.job_id ? [h('dt', null, t('search.job')), h('dd', null, h('a', { href: `#/jobs/${encodeURIComponent(top.job_id)}` }, top.job_name || top.job_id))] : null,
        (top.outputs || []).length ? [h('dt', null, t('channels.outputs')), h('dd', null, top.outputs.map((o) => h('div', null, h('a', { class: 'mono', href: `#/storage?url=${encodeURIComponent(o.obs_url)}` }, o.obs_url))))] : null));
    } else add(best, h('div', { class: 'empty' }, t('search.no_best')));

    add(clear(chart), h('h2', null, t('search.objective_chart')),
      done.length ? lineChart(`${reward.name || t('search.objective')} (${mode})`, done.map((x) => [Number(x.number), Number(x.value)]).sort((a, b) => a[0] - b[0]),
        { xLabel: t('search.trial'), dots: true, highlight: top ? Number(top.number) : null, width: 420 }) : h('div', { class: 'empty' }, t('search.no_values')));

    add(clear(trials), h('h2', null, t('search.trials'), ` (${data.total ?? list.length})`),
      list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list trials' },
        h('thead', null, h('tr', null, ['search.trial', 'jobs.status', 'params.title', 'search.value', 'search.best_value', 'search.steps', 'jobs.duration', ''].map((k) => h('th', null, k ? t(k) : '')))),
        h('tbody', null, list.map((x) => h('tr', { class: top && x.trial_id === top.trial_id ? 'best-row' : '' },
          h('td', null, x.job_id ? h('a', { href: `#/jobs/${encodeURIComponent(x.job_id)}` }, `#${x.number}`) : `#${x.number}`),
          h('td', null, h('span', { class: `badge ${TRIAL_CLASS[x.status] || 'wait'}`, 'data-status': x.status }, t(`trial.${x.status}`, {}, x.status))),
          h('td', { class: 'mono' }, typeof x.params === 'object' ? paramsText(x.params) : String(x.config || x.params || '')),
          h('td', { class: 'num' }, x.value ?? '—'),
          h('td', { class: 'num' }, x.best_value ?? '—'),
          h('td', { class: 'num' }, String(x.steps ?? x.training_iteration ?? '—')),
          h('td', { class: 'num' }, fmtDuration(x.duration)),
          h('td', null, x.status === 'running' ? h('button', { type: 'button', class: 'small secondary', onclick: async () => {
            try { await post(`${base}/autosearch-trial-earlystop/${encodeURIComponent(x.trial_id)}`, {}); load(); } catch (err) { trials.prepend(errorPanel(err)); }
          } }, t('search.early_stop')) : null)))))) : h('div', { class: 'empty' }, t('search.no_trials')));

    try {
      const a = await get(`${base}/autosearch-parameter-analysis`);
      const rows = (a.search_params || []).map((p) => [p.name, p.importance]);
      add(clear(importance), h('h2', null, t('search.importance')),
        rows.some(([, v]) => v !== null && v !== undefined) ? barChart(rows) : h('div', { class: 'empty' }, a.message || t('search.no_importance')),
        (a.search_params || []).length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
          h('thead', null, h('tr', null, ['params.name', 'params.type', 'search.importance', 'search.best_value'].map((k) => h('th', null, t(k))))),
          h('tbody', null, a.search_params.map((p) => h('tr', null, h('td', { class: 'mono' }, p.name), h('td', null, p.type || '—'),
            h('td', { class: 'num' }, p.importance === null || p.importance === undefined ? '—' : p.importance.toFixed(3)),
            h('td', { class: 'num' }, p.best_value === null || p.best_value === undefined ? '—' : num(p.best_value))))))) : null);
    } catch (err) {
      add(clear(importance), h('h2', null, t('search.importance')), errorPanel(err));
    }
    if (!stopped && !isFinal(job.status.phase)) timer = setTimeout(load, 3000);
  }
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
