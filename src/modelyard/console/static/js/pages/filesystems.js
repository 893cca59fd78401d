// File systems: instances, and their preload/import/export tasks with progress.
import { h, add, clear, fmtTime, fmtBytes, field } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, del, v2, ApiError, canChange } from '../api.js';
import { clearErrors, showError, errorPanel } from '../errors.js';
import { locationInput } from '../browser.js';

function progressBar(task) {
  const p = task.progress || {};
  const total = p.total_bytes || 0;
  const frac = total ? Math.min(1, p.bytes / total) : (task.status === 'SUCCESS' ? 1 : 0);
  const label = `${fmtBytes(p.bytes)}${total ? ` / ${fmtBytes(total)}` : ''} · ${p.files}${p.total_files ? ` / ${p.total_files}` : ''} ${t('fs.files')}${p.skipped ? ` · ${t('fs.skipped', { n: p.skipped })}` : ''}`;
  return h('div', { class: 'progress-wrap' },
    h('div', { class: `progress ${String(task.status).toLowerCase()}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(frac * 100) },
      h('div', { class: 'bar', style: { width: `${(frac * 100).toFixed(1)}%` } })),
    h('div', { class: 'sub' }, label));
}

export async function render(main, ctx) {
  const list = h('div', { class: 'fs-list' }, h('div', { class: 'loading' }, t('common.loading')));
  const tasksBox = h('div');
  let selected = ctx.query.fs || null;
  let timer = null;
  let stopped = false;
  const createForm = h('form', { class: 'form inline-form', novalidate: true });
  const summary = h('div');
  const name = h('input', { 'data-field': 'name', spellcheck: 'false' });
  const path = h('input', { 'data-field': 'path', spellcheck: 'false', placeholder: t('fs.path_default') });
  const desc = h('input', { 'data-field': 'description' });
  add(createForm, summary, h('div', { class: 'grid3' }, field('fs.name', name, { required: true }), field('fs.path', path), field('fs.description', desc)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('fs.create'))));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(createForm);
    const body = { name: name.value.trim() };
    if (path.value.trim()) body.path = path.value.trim();
    if (desc.value.trim()) body.description = desc.value.trim();
    try {
      await post(v2('/filesystems'), body);
      name.value = path.value = desc.value = '';
      selected = body.name;
      load();
    } catch (err) {
      if (err instanceof ApiError) showError(createForm, err, summary); else summary.prepend(errorPanel(err));
    }
  });

  add(main, h('div', { class: 'page-head' }, h('h1', null, t('fs.title'))),
    h('p', { class: 'hint' }, t('fs.hint')),
    list,
    h('details', { class: 'panel' }, h('summary', null, t('fs.create')), createForm),
    tasksBox);

  async function load() {
    clearTimeout(timer);
    let items;
    try {
      items = (await get(v2('/filesystems'))).items;
    } catch (err) {
      clear(list).appendChild(errorPanel(err));
      clear(tasksBox);
      return;
    }
    if (stopped) return;
    clear(list).appendChild(items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list fs' },
      h('thead', null, h('tr', null, ['fs.name', 'fs.path', 'fs.status', 'jobs.created', 'common.actions'].map((k) => h('th', null, t(k))))),
      h('tbody', null, items.map((f) => h('tr', { class: f.name === selected ? 'selected' : '' },
        h('td', null, h('a', { href: '#', onclick: (e) => { e.preventDefault(); selected = f.name; load(); } }, f.name)),
        h('td', { class: 'mono' }, f.path),
        h('td', null, h('span', { class: `badge ${f.status === 'available' ? 'ok' : 'bad'}` }, t(`fs.${f.status}`, {}, f.status))),
        h('td', null, fmtTime(f.create_time)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'small secondary', onclick: () => { selected = f.name; load(); } }, t('fs.tasks')),
          canChange() && h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', onclick: async () => {
            if (!window.confirm(t('fs.confirm_delete', { name: f.name }))) return;
            try { await del(v2(`/filesystems/${encodeURIComponent(f.name)}`)); if (selected === f.name) selected = null; load(); } catch (err) { list.prepend(errorPanel(err)); }
          } }, t('common.delete')))))))) : h('div', { class: 'empty' }, t('fs.none')));
    if (selected && items.some((f) => f.name === selected)) await loadTasks(selected);
    else clear(tasksBox);
  }

  async function loadTasks(fsName) {
    let tasks;
    try { tasks = (await get(v2(`/filesystems/${encodeURIComponent(fsName)}/tasks`))).items; } catch (err) { clear(tasksBox).appendChild(errorPanel(err)); return; }
    if (stopped) return;
    const tSummary = h('div');
    const type = h('select', { 'data-field': 'type' }, ['preload', 'import', 'export'].map((x) => h('option', { value: x }, t(`fs.type_${x}`))));
    const [srcBox, src] = locationInput({ mode: 'dir', dataField: 'src' });
    const dest = h('input', { 'data-field': 'dest', value: '/', spellcheck: 'false' });
    const taskForm = h('form', { class: 'form', novalidate: true }, tSummary,
      h('div', { class: 'grid3' }, field('fs.task_type', type), field('fs.src', srcBox, { hint: t('fs.src_hint') }), field('fs.dest', dest, { hint: t('fs.dest_hint') })),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('fs.start_task'))));
    taskForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(taskForm);
      try {
        await post(v2(`/filesystems/${encodeURIComponent(fsName)}/tasks`), { type: type.value, src: src.value.trim(), dest: dest.value.trim() || '/' });
        loadTasks(fsName);
      } catch (err) {
        if (err instanceof ApiError) showError(taskForm, err, tSummary); else tSummary.prepend(errorPanel(err));
      }
    });
    add(clear(tasksBox), h('section', { class: 'panel' }, h('h2', null, t('fs.tasks_of', { name: fsName })),
      tasks.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list tasks' },
        h('thead', null, h('tr', null, ['fs.task_type', 'fs.src', 'fs.dest', 'fs.status', 'fs.progress'].map((k) => h('th', null, t(k))))),
        h('tbody', null, tasks.map((task) => h('tr', null,
          h('td', null, t(`fs.type_${task.type}`, {}, task.type)),
          h('td', { class: 'mono' }, task.src), h('td', { class: 'mono' }, task.dest),
          h('td', null, h('span', { class: `badge ${task.status === 'SUCCESS' ? 'ok' : task.status === 'FAIL' ? 'bad' : 'run'}` }, t(`fs.status_${task.status}`, {}, task.status)),
            task.message ? h('div', { class: 'sub' }, task.message) : null),
          h('td', null, progressBar(task))))))) : h('div', { class: 'empty' }, t('fs.no_tasks')),
      h('h3', null, t('fs.new_task')), taskForm));
    if (tasks.some((x) => x.status === 'DOING')) timer = setTimeout(() => loadTasks(fsName), 1500);
  }

  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
