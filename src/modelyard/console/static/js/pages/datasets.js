// Datasets (issue 18): create and import, label statistics, what an import could not use,
// versions (publish with a train/eval split), and the version's id to use as a job input.
import { h, add, clear, fmtTime, field } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, del, v2, ApiError } from '../api.js';
import { clearErrors, showError, errorPanel } from '../errors.js';
import { locationInput } from '../browser.js';

const TYPES = [0, 1, 3, 100, 101, 102, 200, 201, 202, 400, 600, 900];
const STATUS = { 0: 'creating', 1: 'normal', 2: 'deleting', 4: 'abnormal', 8: 'importing' };

const enc = encodeURIComponent;
const typeName = (code) => t(`datasets.type_${code}`, {}, String(code));

function submitter(form, summary, send) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try { await send(); } catch (err) {
      if (err instanceof ApiError) showError(form, err, summary); else summary.prepend(errorPanel(err));
    }
  });
}

function importReport(task) {
  if (!task) return null;
  const bad = task.not_sample_count + task.unreadable_count + task.broken_annotation_count;
  return h('div', { class: `panel ${bad ? 'notice' : ''}`, 'data-testid': 'import-report' },
    h('p', null, t('datasets.imported', { n: task.imported_sample_count, annotated: task.annotated_sample_count, path: task.import_path })),
    bad ? h('p', null, t('datasets.not_imported', { not_samples: task.not_sample_count, unreadable: task.unreadable_count, broken: task.broken_annotation_count })) : null,
    bad ? h('ul', { class: 'mono' }, task.problems.map((p) => h('li', null, `${p.path}: ${p.reason}`))) : null);
}

function createForm(onCreated) {
  const summary = h('div');
  const form = h('form', { class: 'form', novalidate: true });
  const name = h('input', { 'data-field': 'dataset_name', spellcheck: 'false' });
  const type = h('select', { 'data-field': 'dataset_type' }, TYPES.map((c) => h('option', { value: c }, `${c} · ${typeName(c)}`)));
  const [dataBox, data] = locationInput({ mode: 'dir', dataField: 'data_sources[0].data_path' });
  const [workBox, work] = locationInput({ mode: 'dir', dataField: 'work_path' });
  const labels = h('input', { type: 'checkbox', checked: true, 'data-field': 'import_annotations' });
  add(form, summary,
    h('div', { class: 'grid3' }, field('datasets.name', name, { required: true }), field('datasets.type', type),
      field('datasets.import_annotations', labels, { hint: t('datasets.import_annotations_hint') })),
    field('datasets.data_path', dataBox, { required: true, hint: t('datasets.data_path_hint') }),
    field('datasets.work_path', workBox, { required: true, hint: t('datasets.work_path_hint') }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('datasets.create'))));
  submitter(form, summary, async () => {
    const rec = await post(v2('/datasets'), {
      dataset_name: name.value.trim(), dataset_type: Number(type.value), work_path: work.value.trim(),
      data_sources: [{ data_type: 0, data_path: data.value.trim() }], import_annotations: labels.checked });
    form.reset();
    onCreated(rec);
  });
  return form;
}

export async function render(main, ctx) {
  const list = h('div', null, h('div', { class: 'loading' }, t('common.loading')));
  const detail = h('div');
  let selected = ctx.query.dataset || null;
  let lastImport = null;
  let stopped = false;
  add(main, h('div', { class: 'page-head' }, h('h1', null, t('datasets.title'))),
    h('p', { class: 'hint' }, t('datasets.hint')),
    list,
    h('details', { class: 'panel' }, h('summary', null, t('datasets.create')),
      createForm((rec) => { selected = rec.dataset_id; lastImport = rec.last_import; load(); })),
    detail);

  async function load() {
    let items;
    try { items = (await get(v2('/datasets'))).datasets; } catch (err) { clear(list).appendChild(errorPanel(err)); return; }
    if (stopped) return;
    clear(list).appendChild(items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list datasets' },
      h('thead', null, h('tr', null, ['datasets.name', 'datasets.type', 'datasets.status', 'datasets.samples', 'datasets.annotated', 'datasets.versions', 'jobs.created', 'common.actions'].map((k) => h('th', null, t(k))))),
      h('tbody', null, items.map((d) => h('tr', { class: d.dataset_id === selected ? 'selected' : '' },
        h('td', null, h('a', { href: '#', onclick: (e) => { e.preventDefault(); selected = d.dataset_id; lastImport = null; load(); } }, d.dataset_name)),
        h('td', null, typeName(d.dataset_type)),
        h('td', null, h('span', { class: `badge ${d.status === 1 ? 'ok' : d.status === 4 ? 'bad' : 'run'}` }, t(`datasets.status_${STATUS[d.status] || 'other'}`, {}, String(d.status)))),
        h('td', null, String(d.total_sample_count)), h('td', null, String(d.annotated_sample_count)),
        h('td', null, String(d.version_count)), h('td', null, fmtTime(d.create_time)),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', onclick: async () => {
          if (!window.confirm(t('datasets.confirm_delete', { name: d.dataset_name }))) return;
          try { await del(v2(`/datasets/${enc(d.dataset_id)}`)); if (selected === d.dataset_id) selected = null; load(); } catch (err) { list.prepend(errorPanel(err)); }
        } }, t('common.delete')))))))) : h('div', { class: 'empty' }, t('datasets.none')));
    if (selected && items.some((d) => d.dataset_id === selected)) await loadDetail(selected);
    else clear(detail);
  }

  async function loadDetail(id) {
    let ds; let stats; let versions;
    try {
      [ds, stats, versions] = await Promise.all([get(v2(`/datasets/${enc(id)}`)),
        get(v2(`/datasets/${enc(id)}/data-annotations/stats`)), get(v2(`/datasets/${enc(id)}/versions`))]);
    } catch (err) { clear(detail).appendChild(errorPanel(err)); return; }
    if (stopped) return;
    const iSummary = h('div');
    const [pathBox, path] = locationInput({ mode: 'dir', dataField: 'import_path' });
    const importForm = h('form', { class: 'form', novalidate: true }, iSummary,
      field('datasets.import_path', pathBox, { hint: t('datasets.import_path_hint') }),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'secondary' }, t('datasets.import'))));
    submitter(importForm, iSummary, async () => {
      lastImport = await post(v2(`/datasets/${enc(id)}/import-tasks`), { import_path: path.value.trim() });
      load();
    });
    const pSummary = h('div');
    const vName = h('input', { 'data-field': 'version_name', placeholder: 'V001', spellcheck: 'false' });
    const ratio = h('input', { 'data-field': 'train_evaluate_sample_ratio', value: '0.8', inputmode: 'decimal' });
    const fmt = h('select', { 'data-field': 'version_format' }, ['Default', 'CarbonData'].map((f) => h('option', { value: f }, f)));
    const publishForm = h('form', { class: 'form', novalidate: true }, pSummary,
      h('div', { class: 'grid3' }, field('datasets.version_name', vName), field('datasets.ratio', ratio, { hint: t('datasets.ratio_hint') }), field('datasets.format', fmt)),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('datasets.publish'))));
    submitter(publishForm, pSummary, async () => {
      const body = { train_evaluate_sample_ratio: ratio.value.trim(), version_format: fmt.value };
      if (vName.value.trim()) body.version_name = vName.value.trim();
      await post(v2(`/datasets/${enc(id)}/versions`), body);
      load(); // the list's version count too
    });
    add(clear(detail), h('section', { class: 'panel', 'data-testid': 'dataset-detail' },
      h('h2', null, ds.dataset_name),
      h('dl', { class: 'kv' },
        h('dt', null, t('datasets.data_path')), h('dd', { class: 'mono' }, ds.data_sources[0].data_path),
        h('dt', null, t('datasets.work_path')), h('dd', { class: 'mono' }, ds.work_path),
        h('dt', null, t('datasets.samples')), h('dd', null, `${ds.total_sample_count} (${t('datasets.annotated')}: ${ds.annotated_sample_count})`)),
      importReport(lastImport || ds.last_import),
      h('h3', null, t('datasets.label_stats')),
      stats.label_list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list labels' },
        h('thead', null, h('tr', null, ['datasets.label', 'datasets.samples', 'datasets.annotations'].map((k) => h('th', null, t(k))))),
        h('tbody', null, stats.label_list.map((l) => h('tr', null, h('td', null, l.name), h('td', null, String(l.sample_count)), h('td', null, String(l.count))))))) : h('div', { class: 'empty' }, t('datasets.no_labels')),
      h('h3', null, t('datasets.versions')),
      versions.versions.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list versions' },
        h('thead', null, h('tr', null, ['datasets.version_name', 'datasets.samples', 'datasets.train', 'datasets.eval', 'datasets.label_type', 'datasets.job_input'].map((k) => h('th', null, t(k))))),
        h('tbody', null, versions.versions.map((v) => h('tr', null, h('td', null, v.version_name), h('td', null, String(v.total_sample_count)),
          h('td', null, String(v.train_sample_count)), h('td', null, String(v.eval_sample_count)), h('td', null, v.label_type),
          h('td', { class: 'mono' }, `dataset:${v.dataset_id}:${v.version_id}`)))))) : h('div', { class: 'empty' }, t('datasets.no_versions')),
      h('h3', null, t('datasets.publish')), publishForm,
      h('h3', null, t('datasets.import')), importForm));
  }

  await load();
  return () => { stopped = true; };
}

// For the job form: every published version of every dataset, as [value, label] options.
export async function versionOptions() {
  const out = [];
  const datasets = (await get(v2('/datasets'))).datasets;
  for (const d of datasets) {
    if (!d.version_count) continue;
    const versions = (await get(v2(`/datasets/${enc(d.dataset_id)}/versions`))).versions;
    for (const v of versions) out.push([`${d.dataset_id}:${v.version_id}`, `${d.dataset_name} / ${v.version_name} (${v.train_sample_count}/${v.eval_sample_count})`]);
  }
  return out;
}

// For the job form: lets an input take a dataset version instead of a storage location.
// The chosen version is kept on the location <input> (data-dataset-ref="ID:VERSION"), which
// the form reads back with `inputRemote`.
export function datasetPicker(box, input, index, bound) {
  const ref = bound && bound.remote.dataset ? `${bound.remote.dataset.id}:${bound.remote.dataset.version_id}` : '';
  const kind = h('select', { 'aria-label': t('channels.constraint'), 'data-testid': `source-${input.dataset.channel}` },
    h('option', { value: 'obs' }, t('datasets.source_storage')),
    h('option', { value: 'dataset', selected: !!ref }, t('datasets.source_dataset')));
  const versions = h('select', { 'data-field': `algorithm.inputs[${index}].remote.dataset`, 'data-testid': `version-${input.dataset.channel}` });
  const note = h('span', { class: 'hint' });
  let loaded = false;
  async function show() {
    const useDataset = kind.value === 'dataset';
    box.hidden = useDataset;
    versions.hidden = !useDataset;
    if (!useDataset) { delete input.dataset.datasetRef; note.textContent = ''; return; }
    if (!loaded) {
      loaded = true;
      try {
        const options = await versionOptions();
        add(clear(versions), options.map(([value, label]) => h('option', { value, selected: value === ref }, label)));
        note.textContent = options.length ? '' : t('datasets.no_published');
      } catch (err) { note.textContent = err.message; }
    }
    input.dataset.datasetRef = versions.value;
  }
  kind.addEventListener('change', show);
  versions.addEventListener('change', () => { input.dataset.datasetRef = versions.value; });
  show();
  return h('div', { class: 'row' }, kind, versions, note);
}

export function inputRemote(input) {
  const ref = input.dataset.datasetRef;
  if (ref) {
    const [id, versionId] = ref.split(':');
    return { dataset: { id, version_id: versionId } };
  }
  return { obs: { obs_url: input.value.trim() } };
}
