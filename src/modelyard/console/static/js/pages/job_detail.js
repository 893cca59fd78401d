// One training job: status, live log, metrics chart, events, configuration, outputs.
import { h, add, clear, fmtTime, fmtDuration, phaseBadge, isFinal } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, del, v2, raw, canChange } from '../api.js';
import { errorPanel } from '../errors.js';
import { MetricParser } from '../metrics.js';
import { lineChart } from '../chart.js';
import { listFolder, listingTable } from '../browser.js';
import { navigate } from '../app.js';

const LOG_KEEP = 400_000; // characters of log kept on the page

export async function render(main, ctx, id) {
  const base = v2(`/training-jobs/${encodeURIComponent(id)}`);
  let job = await get(base);
  if (!ctx.isCurrent()) return undefined;
  let stopped = false;
  const controller = new AbortController();
  const timers = [];

  const title = h('h1', null);
  const actions = h('div', { class: 'actions' });
  const notice = h('div');
  const info = h('dl', { class: 'kv status-kv' });
  const logPre = h('pre', { class: 'log', 'data-testid': 'log', tabindex: '0', 'aria-label': t('job.log') });
  const follow = h('input', { type: 'checkbox', checked: true });
  const logState = h('span', { class: 'log-state' });
  const charts = h('div', { class: 'charts', 'data-testid': 'metrics' });
  const events = h('ol', { class: 'timeline', 'data-testid': 'events' });
  const config = h('div', { class: 'config' });
  const outputs = h('div', { class: 'outputs' });
  const parser = new MetricParser();

  // ---------------------------------------------------------------- tabs
  const tabs = [['log', 'job.tab_log'], ['events', 'job.tab_events'], ['config', 'job.tab_config'], ['outputs', 'job.tab_outputs']];
  const panes = {
    log: h('div', { class: 'pane' },
      h('section', { class: 'panel' }, h('div', { class: 'section-head' }, h('h2', null, t('job.metrics'))), charts),
      h('section', { class: 'panel' }, h('div', { class: 'section-head' }, h('h2', null, t('job.log')),
        h('div', { class: 'actions' }, logState, h('label', { class: 'check' }, follow, ' ', t('job.follow')))), logPre)),
    events: h('div', { class: 'pane' }, h('section', { class: 'panel' }, events)),
    config: h('div', { class: 'pane' }, config),
    outputs: h('div', { class: 'pane' }, outputs),
  };
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  function showTab(key) {
    tabBar.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === key)));
    for (const [k, pane] of Object.entries(panes)) pane.hidden = k !== key;
    if (key === 'outputs') drawOutputs();
  }
  tabs.forEach(([key, label]) => tabBar.appendChild(h('button', { type: 'button', role: 'tab', 'data-tab': key, onclick: () => showTab(key) }, t(label))));

  add(main, 
    h('div', { class: 'page-head' }, h('div', null, h('div', { class: 'crumb' }, h('a', { href: '#/jobs' }, t('jobs.title')), ' /'), title), actions),
    notice,
    h('section', { class: 'panel' }, info),
    tabBar, ...Object.values(panes));
  showTab('log');

  // ---------------------------------------------------------------- status
  function drawStatus() {
    const s = job.status || {};
    add(clear(title), job.metadata.name, ' ', phaseBadge(s.phase, s.secondary_phase));
    title.dataset.phase = s.phase;
    const final = isFinal(s.phase);
    if (final && logState.textContent === t('job.log_live')) logState.textContent = t('job.log_ended');
    add(clear(actions), 
      !final && canChange() ? h('button', { type: 'button', class: 'danger', 'data-action': 'stop', disabled: s.phase === 'Terminating', onclick: stop }, t('job.stop')) : null,
      h('a', { class: 'button secondary', href: `#/jobs/new?copy=${encodeURIComponent(id)}`, 'data-action': 'copy' }, t('job.copy')),
      final && canChange() ? h('button', { type: 'button', class: 'danger', 'data-action': 'delete', onclick: remove }, t('common.delete')) : null);
    const task = (s.task_statuses || [])[0] || {};
    const res = s.resource || {};
    const spec = job.spec || {};
    const ann = job.metadata.annotations || {};
    add(clear(info), 
      h('dt', null, t('job.status')), h('dd', { 'data-testid': 'phase' }, t(`phase.${s.phase}`, {}, s.phase)),
      h('dt', null, t('job.secondary_phase')), h('dd', { 'data-testid': 'secondary-phase' }, s.secondary_phase ? t(`phase.${s.secondary_phase}`, {}, s.secondary_phase) : '—'),
      h('dt', null, t('jobs.algorithm')), h('dd', null, job.algorithm.content_id
        ? h('a', { href: `#/gallery/${encodeURIComponent(job.algorithm.content_id)}`, 'data-testid': 'gallery-source' }, t('jobs.from_gallery', { name: job.algorithm.content_name, version: job.algorithm.version_num }))
        : job.algorithm.id ? h('a', { href: `#/algorithms/${encodeURIComponent(job.algorithm.id)}` }, job.algorithm.name || job.algorithm.id) : (job.algorithm.name || t('job.inline'))),
      h('dt', null, t('jobs.created')), h('dd', null, fmtTime(job.metadata.create_time)),
      h('dt', null, t('job.started')), h('dd', null, fmtTime(s.start_time)),
      h('dt', null, t('jobs.duration')), h('dd', null, fmtDuration(s.duration)),
      job.image ? h('dt', null, t('job.image')) : null,
      job.image ? h('dd', { class: 'mono', 'data-testid': 'image' }, `${job.image.url}${job.image.digest ? ` @ ${job.image.digest}` : ''}`) : null,
      h('dt', null, t('jobs.flavor')), h('dd', { class: 'mono' }, res.flavor_id || (spec.resource || {}).flavor_id || '—'),
      h('dt', null, t('jobs.node_count')), h('dd', null, String((spec.resource || {}).node_count || 1)),
      h('dt', null, t('jobs.retries')), h('dd', null, `${ann['fault-tolerance/job-retry-num'] || 0}${s.attempt > 1 ? ` · ${t('job.attempt', { n: s.attempt })}` : ''}`),
      h('dt', null, t('job.exit_code')), h('dd', null, task.exit_code === null || task.exit_code === undefined ? '—' : String(task.exit_code)),
      h('dt', null, 'ID'), h('dd', { class: 'mono' }, id));
    clear(notice);
    const msg = s.message || task.message;
    if (s.queue_position !== undefined && s.queue_position !== null) {
      notice.appendChild(h('div', { class: 'panel notice', 'data-testid': 'queue' }, t('job.queue_position', { n: s.queue_position }), msg ? ` — ${msg}` : ''));
    } else if (msg) {
      notice.appendChild(h('div', { class: `panel ${['Failed', 'Abnormal'].includes(s.phase) ? 'error' : 'notice'}`, 'data-testid': 'message' }, msg));
    }
    if ((job.algorithm.policies && job.algorithm.policies.auto_search) || s.autosearch) {
      notice.appendChild(h('div', { class: 'panel notice' }, t('job.is_search'), ' ', h('a', { href: `#/search/${encodeURIComponent(id)}` }, t('search.open'))));
    }
  }

  function drawConfig() {
    const a = job.algorithm || {};
    const spec = job.spec || {};
    const rows = (items, cols) => h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', null, h('tr', null, cols.map(([k]) => h('th', null, t(k))))),
      h('tbody', null, items.map((it) => h('tr', null, cols.map(([, f]) => h('td', { class: 'mono' }, f(it))))))));
    add(clear(config), 
      h('section', { class: 'panel' }, h('h2', null, t('params.title')),
        (a.parameters || []).length ? rows(a.parameters, [['params.name', (p) => p.name], ['params.value', (p) => (p.value === null || p.value === undefined ? t('job.removed') : String(p.value))]]) : h('div', { class: 'empty' }, t('job.defaults_only'))),
      h('section', { class: 'panel' }, h('h2', null, t('channels.inputs')),
        (a.inputs || []).length ? rows(a.inputs, [['channels.name', (c) => c.name], ['channels.location', (c) => (c.remote.obs ? c.remote.obs.obs_url : `dataset:${c.remote.dataset.id}:${c.remote.dataset.version_id}`)]]) : h('div', { class: 'empty' }, '—')),
      h('section', { class: 'panel' }, h('h2', null, t('channels.outputs')),
        (a.outputs || []).length ? rows(a.outputs, [['channels.name', (c) => c.name], ['channels.location', (c) => c.remote.obs.obs_url], ['channels.prefetch', (c) => (c.prefetch_to_local ? '✓' : '—')]]) : h('div', { class: 'empty' }, '—')),
      (spec.volumes || []).length ? h('section', { class: 'panel' }, h('h2', null, t('mounts.title')),
        rows(spec.volumes.filter((v) => v.filesystem).map((v) => v.filesystem), [['mounts.filesystem', (m) => m.name], ['mounts.storage_location', (m) => m.storage_location || '/'], ['mounts.local_path', (m) => m.local_path], ['mounts.read_only', (m) => (m.read_only ? '✓' : '—')]])) : null,
      (job.status.running_records || []).length ? h('section', { class: 'panel' }, h('h2', null, t('job.running_records')),
        rows(job.status.running_records, [['job.started', (r) => fmtTime(r.start_at)], ['job.start_type', (r) => r.start_type || '—'], ['job.ended', (r) => fmtTime(r.end_at)], ['job.reason', (r) => [r.end_reason, r.exit_code === null || r.exit_code === undefined ? null : `exit ${r.exit_code}`].filter(Boolean).join(' · ') || '—']])) : null);
  }

  async function drawOutputs() {
    const outs = (job.algorithm.outputs || []);
    clear(outputs);
    if (!outs.length) { outputs.appendChild(h('div', { class: 'panel empty' }, t('job.no_outputs'))); return; }
    for (const o of outs) {
      const url = o.remote.obs.obs_url;
      const box = h('div');
      outputs.appendChild(h('section', { class: 'panel', 'data-output': o.name }, h('h2', null, o.name, ' ', h('span', { class: 'mono sub' }, url)), box));
      const open = async (u) => {
        clear(box).appendChild(h('div', { class: 'loading' }, t('common.loading')));
        try {
          const listing = await listFolder(u);
          if (u !== url && listing.parent === null) listing.parent = null;
          const root = url.endsWith('/') ? url : `${url}/`;
          if (listing.url === root) listing.parent = null;
          add(clear(box), h('div', { class: 'mono sub' }, listing.url),
            listingTable(listing, { onFolder: open }),
            h('a', { href: `#/storage?url=${encodeURIComponent(listing.url)}` }, t('job.open_in_storage')));
        } catch (err) {
          clear(box).appendChild(errorPanel(err));
        }
      };
      open(url);
    }
  }

  async function stop() {
    if (!window.confirm(t('job.confirm_stop', { name: job.metadata.name }))) return;
    try { job = await post(`${base}/actions`, { action_type: 'terminate' }); drawStatus(); } catch (err) { notice.prepend(errorPanel(err)); }
  }

  async function remove() {
    if (!window.confirm(t('job.confirm_delete', { name: job.metadata.name }))) return;
    try { await del(base); navigate('#/jobs'); } catch (err) { notice.prepend(errorPanel(err)); }
  }

  // ---------------------------------------------------------------- events
  async function loadEvents() {
    try {
      const r = await get(`${base}/events`, { order: 'desc', limit: 200 });
      const items = r.events.slice().reverse();
      add(clear(events), ...items.map((e) => h('li', { class: `ev ${String(e.level).toLowerCase()}` },
        h('span', { class: 'ev-time' }, fmtTime(e.timestamp || Date.parse(e.time))),
        h('span', { class: `ev-level ${String(e.level).toLowerCase()}` }, t(`level.${e.level}`, {}, e.level)),
        h('span', { class: 'ev-source' }, t(`source.${e.source}`, {}, e.source)),
        h('span', { class: 'ev-msg' }, e.message))));
      if (!items.length) events.appendChild(h('li', { class: 'empty' }, t('job.no_events')));
    } catch (err) {
      clear(events).appendChild(errorPanel(err));
    }
  }

  // ---------------------------------------------------------------- log + metrics
  let logText = '';
  let chartDirty = false;
  function appendLog(text) {
    logText += text;
    if (logText.length > LOG_KEEP) logText = logText.slice(logText.length - LOG_KEEP);
    logPre.textContent = logText;
    if (follow.checked) logPre.scrollTop = logPre.scrollHeight;
    if (parser.feed(text)) chartDirty = true;
  }
  function drawCharts() {
    if (!chartDirty && charts.childNodes.length) return;
    chartDirty = false;
    const list = parser.charts();
    clear(charts);
    if (!list.length) { charts.appendChild(h('div', { class: 'empty' }, t('job.no_metrics'))); return; }
    const colors = ['#2f6fdf', '#d9534f', '#2e9d5b', '#8a5cd6', '#e08a00', '#0d9fb3'];
    list.forEach(([name, pts], i) => charts.appendChild(h('figure', { class: 'chart-box', 'data-metric': name },
      lineChart(name, pts, { xLabel: parser.stepKey || '#', color: colors[i % colors.length] }))));
  }

  let offset = 0;
  async function followLog() {
    const path = `${base}/tasks/worker-0/logs/stream`;
    while (!stopped) {
      logState.textContent = t('job.log_live');
      try {
        const resp = await raw('GET', path, { query: { follow: 'true', offset }, signal: controller.signal });
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          offset += value.length;
          appendLog(dec.decode(value, { stream: true }));
        }
      } catch (err) {
        if (stopped || err.name === 'AbortError') return;
        if (err.missingEndpoint) { await previewLog(); return; }
        if (err.status === 404 || err.status === 401) { logState.textContent = err.message; return; }
      }
      if (isFinal(job.status.phase)) {
        // One last read, in case the job ended between our looks.
        try {
          const resp = await raw('GET', path, { query: { offset }, signal: controller.signal });
          const buf = new Uint8Array(await resp.arrayBuffer());
          offset += buf.length;
          if (buf.length) appendLog(new TextDecoder().decode(buf));
        } catch { /* the preview below still shows it */ }
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    logState.textContent = t('job.log_ended');
    drawCharts();
    if (!logText) { logPre.textContent = t('job.no_log'); }
  }

  async function previewLog() {
    // Fallback for servers without the streaming endpoint: poll the preview.
    while (!stopped) {
      try {
        const p = await get(`${base}/tasks/worker-0/logs/preview`);
        logText = '';
        parser.series.clear(); parser.counter = 0;
        appendLog(p.content);
      } catch { /* keep the last one */ }
      if (isFinal(job.status.phase)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  // ---------------------------------------------------------------- polling
  async function poll() {
    if (stopped) return;
    try {
      job = await get(base);
      drawStatus();
      loadEvents();
    } catch (err) {
      if (err.status === 404) { clear(notice).appendChild(errorPanel(err)); return; }
    }
    if (!isFinal(job.status.phase)) timers.push(setTimeout(poll, 2000));
    else { drawConfig(); }
  }

  drawStatus();
  drawConfig();
  drawCharts();
  loadEvents();
  followLog();
  timers.push(setTimeout(poll, 2000));
  const chartTimer = setInterval(drawCharts, 1000);
  return () => {
    stopped = true;
    controller.abort();
    timers.forEach(clearTimeout);
    clearInterval(chartTimer);
  };
}
