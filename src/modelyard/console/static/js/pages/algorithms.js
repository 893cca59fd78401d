// Algorithms: list, create and edit (four implementation modes, hyperparameters, channels).
import { h, add, clear, fmtTime, field, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, put, del, v2, ApiError, canChange } from '../api.js';
import { clearErrors, showError, errorPanel } from '../errors.js';
import { locationInput, pickLocation } from '../browser.js';
import { parseYaml } from '../yaml.js';
import { flash, takeFlash } from '../flash.js';
import { navigate } from '../app.js';

export async function render(main, ctx) {
  const [first] = ctx.parts;
  if (first === 'new') return renderForm(main, null, ctx);
  if (first) return renderForm(main, first, ctx);
  return renderList(main, ctx);
}

export function modeOf(jc) {
  const e = (jc && jc.engine) || {};
  if (!e.image_url) return 'preset';
  return e.engine_name && e.engine_version ? 'preset_custom_image' : 'custom_image';
}

function engineText(jc) {
  const e = (jc && jc.engine) || {};
  const parts = [];
  if (e.engine_name) parts.push(`${e.engine_name} ${e.engine_version || ''}`.trim());
  if (e.image_url) parts.push(e.image_url);
  return parts.join(' · ') || '—';
}

// ------------------------------------------------------------------ list
async function renderList(main) {
  const search = h('input', { type: 'search', placeholder: t('algorithms.search'), 'aria-label': t('algorithms.search') });
  const body = h('div', null, h('div', { class: 'loading' }, t('common.loading')));
  add(main, 
    h('div', { class: 'page-head' }, h('h1', null, t('algorithms.title')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/algorithms/new' }, t('algorithms.create')))),
    takeFlash(),
    h('div', { class: 'toolbar' }, search),
    body);

  async function load() {
    try {
      const name = search.value.trim();
      const page = await get(v2('/algorithms'), { limit: 200, searches: name ? `name:${name}` : undefined });
      if (!page.items.length) {
        clear(body).appendChild(h('div', { class: 'empty' }, t(name ? 'common.no_match' : 'algorithms.none'), ' ',
          name ? null : h('a', { href: '#/algorithms/new' }, t('algorithms.create'))));
        return;
      }
      clear(body).appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'list algorithms' },
        h('thead', null, h('tr', null, ['algorithms.name', 'algorithms.mode', 'algorithms.engine', 'algorithms.hyperparameters', 'algorithms.created', 'common.actions']
          .map((k) => h('th', null, t(k))))),
        h('tbody', null, page.items.map((a) => h('tr', { 'data-algorithm': a.metadata.name },
          h('td', null, h('a', { href: `#/algorithms/${encodeURIComponent(a.metadata.id)}` }, a.metadata.name),
            a.metadata.description ? h('div', { class: 'sub' }, a.metadata.description) : null),
          h('td', null, t(`mode.${modeOf(a.job_config)}`)),
          h('td', { class: 'mono' }, engineText(a.job_config)),
          h('td', { class: 'num' }, String((a.job_config.parameters || []).length)),
          h('td', null, fmtTime(a.metadata.create_time)),
          h('td', { class: 'actions' },
            h('a', { class: 'button small primary', href: `#/jobs/new?algorithm=${encodeURIComponent(a.metadata.id)}` }, t('algorithms.run')),
            h('a', { class: 'button small secondary', href: `#/algorithms/${encodeURIComponent(a.metadata.id)}` }, t('common.edit')),
            canChange() && h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', onclick: async () => {
              if (!window.confirm(t('algorithms.confirm_delete', { name: a.metadata.name }))) return;
              try { await del(v2(`/algorithms/${encodeURIComponent(a.metadata.id)}`)); load(); } catch (err) { body.prepend(errorPanel(err)); }
            } }, t('common.delete')))))))));
    } catch (err) {
      clear(body).appendChild(errorPanel(err));
    }
  }
  search.addEventListener('input', debounce(load, 300));
  await load();
}

// ------------------------------------------------------------------ rows
const TYPES = ['String', 'Integer', 'Float', 'Boolean'];

function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value) }, label)));
}

function removeButton(tr) {
  return h('button', { type: 'button', class: 'small danger icon', title: t('common.remove'), 'aria-label': t('common.remove'), onclick: () => {
    tr.nextElementSibling && tr.nextElementSibling.classList.contains('error-row') && tr.nextElementSibling.remove();
    tr.remove();
  } }, '✕');
}

export function paramRow(p = {}) {
  const c = p.constraint || {};
  const tr = h('tr', { class: 'param-row' });
  tr._orig = p;
  const name = h('input', { class: 'p-name', value: p.name || '', 'aria-label': t('params.name'), spellcheck: 'false' });
  const type = select(TYPES.map((x) => [x, t(`type.${x}`)]), c.type || 'String', { class: 'p-type', 'aria-label': t('params.type') });
  const value = h('input', { class: 'p-value', value: p.value === undefined || p.value === null ? '' : String(p.value), 'aria-label': t('params.default') });
  const vt = select([['None', t('params.no_constraint')], ['Range', t('params.range')], ['Enum', t('params.enum')]], c.valid_type || 'None', { class: 'p-vt', 'aria-label': t('params.constraint') });
  const range = c.valid_type === 'Range' ? c.valid_range || [] : [];
  const lo = h('input', { class: 'p-min', value: range[0] ?? '', placeholder: t('params.min'), 'aria-label': t('params.min') });
  const hi = h('input', { class: 'p-max', value: range[1] ?? '', placeholder: t('params.max'), 'aria-label': t('params.max') });
  const en = h('input', { class: 'p-enum', value: c.valid_type === 'Enum' ? (c.valid_range || []).join(', ') : '', placeholder: t('params.enum_hint'), 'aria-label': t('params.enum') });
  const req = h('input', { type: 'checkbox', class: 'p-required', checked: !!c.required, 'aria-label': t('params.required') });
  const desc = h('input', { class: 'p-desc', value: p.description || '', 'aria-label': t('params.description') });
  const rangeBox = h('span', { class: 'range-box' }, lo, h('span', null, '–'), hi);
  const sync = () => {
    rangeBox.hidden = vt.value !== 'Range';
    en.hidden = vt.value !== 'Enum';
  };
  vt.addEventListener('change', sync);
  sync();
  const constraintCell = h('td', { class: 'constraint' }, vt, rangeBox, en);
  add(tr, h('td', null, name), h('td', null, type), h('td', null, value), constraintCell,
    h('td', { class: 'center' }, req), h('td', null, desc), h('td', null, removeButton(tr)));
  tr._controls = { name, type, value, vt, lo, hi, en, req, desc, constraintCell };
  return tr;
}

function readParam(tr, i) {
  const c = tr._controls;
  const base = `job_config.parameters[${i}]`;
  tr.dataset.field = base;
  c.name.dataset.field = `${base}.name`;
  c.value.dataset.field = `${base}.value`;
  c.type.dataset.field = `${base}.constraint.type`;
  c.vt.dataset.field = `${base}.constraint.valid_type`;
  c.constraintCell.dataset.field = `${base}.constraint`;
  (c.vt.value === 'Enum' ? c.en : c.lo).dataset.field = `${base}.constraint.valid_range`;
  c.req.dataset.field = `${base}.constraint.required`;
  c.desc.dataset.field = `${base}.description`;
  const orig = tr._orig || {};
  const constraint = { ...(orig.constraint || {}), type: c.type.value, valid_type: c.vt.value, required: c.req.checked };
  if (c.vt.value === 'Range') constraint.valid_range = [c.lo.value.trim(), c.hi.value.trim()];
  else if (c.vt.value === 'Enum') constraint.valid_range = c.en.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  else constraint.valid_range = [];
  const out = { ...orig, name: c.name.value.trim(), constraint };
  const v = c.value.value;
  if (v.trim() !== '') out.value = c.type.value === 'String' ? v : v.trim(); else delete out.value;
  if (c.desc.value.trim()) out.description = c.desc.value.trim(); else delete out.description;
  return out;
}

function inputRow(ch = {}) {
  const tr = h('tr', { class: 'input-row' });
  tr._orig = ch;
  const name = h('input', { class: 'c-name', value: ch.name || '', 'aria-label': t('channels.name'), spellcheck: 'false' });
  const am = select([['parameter', t('channels.parameter')], ['env', t('channels.env')]], ch.access_method || 'parameter', { class: 'c-am', 'aria-label': t('channels.access_method') });
  const dt = ((ch.remote_constraints || [])[0] || {}).data_type || 'obs';
  const kind = select([['obs', t('channels.obs')], ['dataset', t('channels.dataset')], ['modelarts_dataset', t('channels.modelarts_dataset')]], dt, { class: 'c-kind', 'aria-label': t('channels.constraint') });
  const desc = h('input', { class: 'c-desc', value: ch.description || '', 'aria-label': t('channels.description') });
  add(tr, h('td', null, name), h('td', null, am), h('td', null, kind), h('td', null, desc), h('td', null, removeButton(tr)));
  tr._controls = { name, am, kind, desc };
  return tr;
}

function outputRow(ch = {}) {
  const tr = h('tr', { class: 'output-row' });
  tr._orig = ch;
  const name = h('input', { class: 'c-name', value: ch.name || '', 'aria-label': t('channels.name'), spellcheck: 'false' });
  const am = select([['parameter', t('channels.parameter')], ['env', t('channels.env')]], ch.access_method || 'parameter', { class: 'c-am', 'aria-label': t('channels.access_method') });
  const pf = h('input', { type: 'checkbox', class: 'c-prefetch', checked: !!ch.prefetch_to_local, 'aria-label': t('channels.prefetch') });
  const desc = h('input', { class: 'c-desc', value: ch.description || '', 'aria-label': t('channels.description') });
  add(tr, h('td', null, name), h('td', null, am), h('td', { class: 'center' }, pf), h('td', null, desc), h('td', null, removeButton(tr)));
  tr._controls = { name, am, pf, desc };
  return tr;
}

function readChannel(tr, kind, i) {
  const c = tr._controls;
  const base = `job_config.${kind}[${i}]`;
  tr.dataset.field = base;
  c.name.dataset.field = `${base}.name`;
  c.am.dataset.field = `${base}.access_method`;
  c.desc.dataset.field = `${base}.description`;
  const out = { ...(tr._orig || {}), name: c.name.value.trim(), access_method: c.am.value };
  if (c.desc.value.trim()) out.description = c.desc.value.trim(); else delete out.description;
  if (kind === 'inputs') {
    c.kind.dataset.field = `${base}.remote_constraints`;
    out.remote_constraints = [{ ...((out.remote_constraints || [])[0] || {}), data_type: c.kind.value }];
  } else {
    c.pf.dataset.field = `${base}.prefetch_to_local`;
    out.prefetch_to_local = c.pf.checked;
  }
  return out;
}

function envRow(name = '', value = '') {
  const tr = h('tr', { class: 'env-row' });
  const n = h('input', { class: 'e-name', value: name, 'aria-label': t('env.name'), spellcheck: 'false' });
  const v = h('input', { class: 'e-value', value, 'aria-label': t('env.value') });
  add(tr, h('td', null, n), h('td', null, v), h('td', null, removeButton(tr)));
  tr._controls = { n, v };
  return tr;
}

function editorTable(cls, headKeys, rows, addKey, makeRow) {
  const tbody = h('tbody', null, rows);
  const table = h('table', { class: `edit ${cls}` },
    h('thead', null, h('tr', null, headKeys.map((k) => h('th', null, k ? t(k) : '')))), tbody);
  const add = h('button', { type: 'button', class: 'small secondary', 'data-action': `add-${cls}`, onclick: () => {
    const row = makeRow();
    tbody.appendChild(row);
    row.querySelector('input')?.focus();
  } }, `+ ${t(addKey)}`);
  return { wrap: h('div', { class: 'table-wrap' }, table), tbody, add };
}

// Import hyperparameters: JSON or YAML; a list, {parameters: [...]}, an algorithm
// file (job_config.parameters) or a {name: value} map.
export function paramsFromDocument(doc) {
  let list = null;
  if (Array.isArray(doc)) list = doc;
  else if (doc && typeof doc === 'object') {
    if (doc.job_config && Array.isArray(doc.job_config.parameters)) list = doc.job_config.parameters;
    else if (Array.isArray(doc.parameters)) list = doc.parameters;
    else if (Array.isArray(doc.hyperparameters)) list = doc.hyperparameters;
    else list = Object.entries(doc).map(([name, value]) => ({ name, value }));
  }
  if (!list) throw new Error(t('params.import_shape'));
  return list.map((p) => {
    if (!p || typeof p !== 'object' || !('name' in p)) throw new Error(t('params.import_shape'));
    const out = { ...p };
    const c = { ...(p.constraint || {}) };
    if (p.type && !c.type) c.type = p.type;
    if ('default' in p && !('value' in p)) out.value = p.default;
    if (!c.type) {
      const v = out.value;
      c.type = typeof v === 'boolean' ? 'Boolean' : typeof v === 'number' ? (Number.isInteger(v) ? 'Integer' : 'Float') : 'String';
    }
    const norm = { string: 'String', str: 'String', integer: 'Integer', int: 'Integer', float: 'Float', boolean: 'Boolean', bool: 'Boolean' };
    c.type = norm[String(c.type).toLowerCase()] || c.type;
    if (out.value === true || out.value === false) out.value = out.value ? 'true' : 'false';
    delete out.type; delete out.default;
    out.constraint = c;
    return out;
  });
}

// As the CLI reads a file: JSON if its name ends in .json, else YAML (read by the server).
export async function parseDocument(text, filename) {
  if (/\.json$/i.test(filename)) {
    try { return JSON.parse(text); } catch (err) { throw new Error(`${t('params.import_bad_json')}: ${err.message}`); }
  }
  try { return await parseYaml(text); } catch (err) { throw new Error(`${t('params.import_bad_yaml')}: ${err.message}`); }
}

// ------------------------------------------------------------------ form
async function renderForm(main, id, ctx) {
  let original = null;
  if (id) original = await get(v2(`/algorithms/${encodeURIComponent(id)}`));
  let engines = [];
  try { engines = (await get(v2('/training-job-engines'))).items; } catch { engines = []; }
  if (!ctx.isCurrent()) return undefined;

  const summary = h('div', { class: 'summary' });
  const form = h('form', { class: 'form algorithm-form', novalidate: true });
  const name = h('input', { name: 'name', 'data-field': 'metadata.name', spellcheck: 'false', required: true, autocomplete: 'off' });
  const desc = h('input', { name: 'description', 'data-field': 'metadata.description' });

  // Mode
  const modes = ['preset', 'preset_custom_image', 'custom_image', 'subscribed'];
  let mode = 'preset';
  const modeBox = h('div', { class: 'modes', role: 'radiogroup', 'aria-label': t('algorithms.mode') });
  const modeInputs = modes.map((m) => {
    const input = h('input', { type: 'radio', name: 'mode', value: m, checked: m === mode });
    input.addEventListener('change', () => { mode = m; syncMode(); });
    modeBox.appendChild(h('label', { class: `mode-card ${m}`, 'data-mode': m }, input,
      h('span', { class: 'mode-title' }, t(`mode.${m}`)),
      h('span', { class: 'mode-hint' }, t(`mode.${m}_hint`))));
    return input;
  });

  const engineOptions = engines.map((e) => [`${e.engine_name}|${e.engine_version}`, `${e.engine_name} ${e.engine_version}`]);
  const engine = select(engineOptions, engineOptions[0] ? engineOptions[0][0] : '', { 'data-field': 'job_config.engine' });
  const image = h('input', { 'data-field': 'job_config.engine.image_url', placeholder: 'registry.example.com/team/image:tag', spellcheck: 'false' });
  const [codeDirBox, codeDir] = locationInput({ mode: 'dir', dataField: 'job_config.code_dir', placeholder: 'obs://bucket/code/' });
  const bootFile = h('input', { 'data-field': 'job_config.boot_file', placeholder: 'train.py', spellcheck: 'false', class: 'grow' });
  const bootBrowse = h('button', { type: 'button', class: 'secondary browse', onclick: async () => {
    const picked = await pickLocation({ start: codeDir.value, mode: 'file' });
    if (!picked) return;
    const dir = codeDir.value.endsWith('/') ? codeDir.value : `${codeDir.value}/`;
    bootFile.value = codeDir.value && picked.startsWith(dir) ? picked.slice(dir.length) : picked;
  } }, t('storage.browse'));
  const command = h('textarea', { 'data-field': 'job_config.command', rows: 3, spellcheck: 'false', placeholder: 'python ${MA_JOB_DIR}/code/train.py' });
  const workingDir = h('input', { 'data-field': 'job_config.working_dir', placeholder: '/home/ma-user', spellcheck: 'false' });
  const customization = h('input', { type: 'checkbox', 'data-field': 'job_config.parameters_customization' });

  const fEngine = field('algorithms.engine', engine, { hint: engines.length ? null : t('algorithms.no_engines') });
  const fImage = field('algorithms.image', image, { hint: t('algorithms.image_hint') });
  const fCode = field('algorithms.code_dir', codeDirBox, { hint: t('algorithms.code_dir_hint') });
  codeDirBox.id = codeDir.id = 'code-dir';
  fCode.querySelector('label').setAttribute('for', 'code-dir');
  const fBoot = field('algorithms.boot_file', h('div', { class: 'row' }, bootFile, bootBrowse), { hint: t('algorithms.boot_file_hint') });
  bootFile.id = 'boot-file'; fBoot.querySelector('label').setAttribute('for', 'boot-file');
  const fCommand = field('algorithms.command', command, { hint: t('algorithms.command_hint') });
  const fWorking = field('algorithms.working_dir', workingDir);
  // A subscribed algorithm is not defined here: it comes from the gallery (seed S1.1).
  const toGallery = h('div', { class: 'panel notice to-gallery', role: 'status' }, t('mode.subscribed_gallery'), ' ',
    h('a', { class: 'button small primary', href: '#/gallery', 'data-action': 'open-gallery' }, t('mode.open_gallery')));
  const codeSection = h('section', { class: 'panel' }, h('h2', null, t('algorithms.code')), fEngine, fImage, fCode, fBoot, fCommand, fWorking);

  // Hyperparameters
  const params = editorTable('params', ['params.name', 'params.type', 'params.default', 'params.constraint', 'params.required', 'params.description', ''],
    [], 'params.add', () => paramRow());
  const importInput = h('input', { type: 'file', accept: '.json,.yaml,.yml,application/json,text/yaml', hidden: true, 'data-testid': 'import-params' });
  const importMsg = h('div', { class: 'import-msg', role: 'status', 'data-testid': 'params-import-msg' });
  importInput.addEventListener('change', async () => {
    const file = importInput.files[0];
    if (!file) return;
    clear(importMsg);
    try {
      const list = paramsFromDocument(await parseDocument(await file.text(), file.name));
      const existing = new Map([...params.tbody.querySelectorAll('tr.param-row')].map((tr) => [tr._controls.name.value.trim(), tr]));
      for (const p of list) {
        const row = paramRow(p);
        const old = existing.get(p.name);
        if (old) old.replaceWith(row); else params.tbody.appendChild(row);
      }
      importMsg.className = 'import-msg ok';
      importMsg.textContent = t('params.imported', { n: list.length, file: file.name });
    } catch (err) {
      importMsg.className = 'import-msg field-error';
      importMsg.textContent = err.message;
    }
    importInput.value = '';
  });
  const importBtn = h('button', { type: 'button', class: 'small secondary', onclick: () => importInput.click() }, t('params.import'));

  const inputs = editorTable('inputs', ['channels.name', 'channels.access_method', 'channels.constraint', 'channels.description', ''], [], 'channels.add_input', () => inputRow());
  const outputs = editorTable('outputs', ['channels.name', 'channels.access_method', 'channels.prefetch', 'channels.description', ''], [], 'channels.add_output', () => outputRow());
  const envs = editorTable('envs', ['env.name', 'env.value', ''], [], 'env.add', () => envRow());

  const saveBtn = h('button', { type: 'submit', class: 'primary', 'data-action': 'save' }, t(id ? 'common.save' : 'algorithms.create'));

  function syncMode() {
    modeInputs.forEach((i) => { i.checked = i.value === mode; i.closest('label').classList.toggle('selected', i.checked); });
    const show = (el, on) => { el.hidden = !on; };
    show(fEngine, mode === 'preset' || mode === 'preset_custom_image');
    show(fImage, mode === 'preset_custom_image' || mode === 'custom_image');
    show(fBoot, mode !== 'custom_image');
    show(fCommand, mode === 'custom_image' || mode === 'preset_custom_image');
    show(fWorking, mode === 'custom_image');
    show(toGallery, mode === 'subscribed');
    codeSection.hidden = mode === 'subscribed';
    form.querySelectorAll('section.defs').forEach((s) => { s.hidden = mode === 'subscribed'; });
    saveBtn.disabled = mode === 'subscribed';
    fCode.querySelector('.hint').textContent = t(mode === 'custom_image' ? 'algorithms.code_dir_optional' : 'algorithms.code_dir_hint');
  }

  function fill(alg) {
    const md = alg.metadata || {};
    const jc = alg.job_config || {};
    if (md.name) name.value = md.name;
    if (md.description) desc.value = md.description;
    mode = modeOf(jc);
    const e = jc.engine || {};
    if (e.engine_name) {
      const key = `${e.engine_name}|${e.engine_version}`;
      if (![...engine.options].some((o) => o.value === key)) engine.appendChild(h('option', { value: key }, `${e.engine_name} ${e.engine_version}`));
      engine.value = key;
    }
    image.value = e.image_url || '';
    codeDir.value = jc.code_dir || '';
    bootFile.value = jc.boot_file || '';
    command.value = jc.command || '';
    workingDir.value = jc.working_dir || '';
    customization.checked = !!jc.parameters_customization;
    add(clear(params.tbody), ...(jc.parameters || []).map((p) => paramRow(p)));
    add(clear(inputs.tbody), ...(jc.inputs || []).map((c) => inputRow(c)));
    add(clear(outputs.tbody), ...(jc.outputs || []).map((c) => outputRow(c)));
    add(clear(envs.tbody), ...Object.entries(jc.environments || {}).map(([k, v]) => envRow(k, v)));
    syncMode();
  }

  function body() {
    const jc = { ...((original && original.job_config) || {}) };
    delete jc.engine; delete jc.code_dir; delete jc.boot_file; delete jc.command; delete jc.working_dir;
    const [ename, eversion] = (engine.value || '|').split('|');
    if (mode === 'preset' || mode === 'preset_custom_image') {
      jc.engine = { engine_name: ename, engine_version: eversion };
    }
    if (mode !== 'preset') jc.engine = { ...(jc.engine || {}), image_url: image.value.trim() };
    if (codeDir.value.trim()) jc.code_dir = codeDir.value.trim();
    if (mode !== 'custom_image' && bootFile.value.trim()) jc.boot_file = bootFile.value.trim();
    if (mode !== 'preset' && command.value.trim()) jc.command = command.value.trim();
    if (mode === 'custom_image' && workingDir.value.trim()) jc.working_dir = workingDir.value.trim();
    jc.parameters = [...params.tbody.querySelectorAll('tr.param-row')].map(readParam);
    jc.inputs = [...inputs.tbody.querySelectorAll('tr.input-row')].map((tr, i) => readChannel(tr, 'inputs', i));
    jc.outputs = [...outputs.tbody.querySelectorAll('tr.output-row')].map((tr, i) => readChannel(tr, 'outputs', i));
    const envRows = [...envs.tbody.querySelectorAll('tr.env-row')];
    jc.environments = {};
    envRows.forEach((tr) => {
      const k = tr._controls.n.value.trim();
      tr._controls.n.dataset.field = `job_config.environments.${k}`;
      tr.dataset.field = `job_config.environments.${k}`;
      if (k) jc.environments[k] = tr._controls.v.value;
    });
    jc.parameters_customization = customization.checked;
    const md = { ...((original && original.metadata) || {}), name: name.value.trim() };
    if (desc.value.trim()) md.description = desc.value.trim(); else delete md.description;
    const out = { ...(original || {}), metadata: md, job_config: jc };
    delete out.warnings;
    return out;
  }

  // Fill the whole form from an algorithm file (algorithm.yaml / .json).
  const fileInput = h('input', { type: 'file', accept: '.json,.yaml,.yml', hidden: true, 'data-testid': 'import-algorithm' });
  const fileMsg = h('div', { class: 'import-msg', role: 'status' });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    if (!file) return;
    try {
      const doc = await parseDocument(await file.text(), file.name);
      if (!doc || !doc.job_config) throw new Error(t('algorithms.import_shape'));
      fill(doc);
      fileMsg.className = 'import-msg ok';
      fileMsg.textContent = t('algorithms.imported', { file: file.name });
    } catch (err) {
      fileMsg.className = 'import-msg field-error';
      fileMsg.textContent = err.message;
    }
    fileInput.value = '';
  });

  add(form, 
    summary,
    h('section', { class: 'panel' }, h('h2', null, t('algorithms.basics')),
      h('div', { class: 'grid2' },
        field('algorithms.name', name, { required: true, hint: t('algorithms.name_hint') }),
        field('algorithms.description', desc))),
    h('section', { class: 'panel' }, h('h2', null, t('algorithms.mode')), modeBox, toGallery),
    codeSection,
    h('section', { class: 'panel defs' }, h('div', { class: 'section-head' }, h('h2', null, t('params.title')),
      h('div', { class: 'actions' }, importBtn, importInput)),
    h('p', { class: 'hint' }, t('params.hint')),
    params.wrap, h('div', { class: 'row' }, params.add), importMsg,
    h('label', { class: 'check' }, customization, ' ', t('algorithms.customization'))),
    h('section', { class: 'panel defs' }, h('h2', null, t('channels.inputs')), h('p', { class: 'hint' }, t('channels.inputs_hint')), inputs.wrap, h('div', { class: 'row' }, inputs.add)),
    h('section', { class: 'panel defs' }, h('h2', null, t('channels.outputs')), h('p', { class: 'hint' }, t('channels.outputs_hint')), outputs.wrap, h('div', { class: 'row' }, outputs.add)),
    h('section', { class: 'panel defs' }, h('h2', null, t('env.title')), envs.wrap, h('div', { class: 'row' }, envs.add)),
    h('div', { class: 'form-actions' },
      h('a', { class: 'button secondary', href: '#/algorithms' }, t('common.cancel')), saveBtn));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (mode === 'subscribed') return;
    const data = body();
    saveBtn.disabled = true;
    try {
      let saved;
      if (original) saved = await put(v2(`/algorithms/${encodeURIComponent(original.metadata.id)}`), data);
      else saved = await post(v2('/algorithms'), data);
      flash(t(original ? 'algorithms.saved' : 'algorithms.created', { name: saved.metadata.name }), 'ok', saved.warnings || []);
      navigate('#/algorithms');
    } catch (err) {
      if (err instanceof ApiError) showError(form, err, summary);
      else summary.prepend(errorPanel(err));
    } finally {
      saveBtn.disabled = mode === 'subscribed';
    }
  });

  add(main, 
    h('div', { class: 'page-head' },
      h('h1', null, original ? t('algorithms.edit_title', { name: original.metadata.name }) : t('algorithms.new_title')),
      h('div', { class: 'actions' },
        original ? h('a', { class: 'button primary', href: `#/jobs/new?algorithm=${encodeURIComponent(original.metadata.id)}` }, t('algorithms.run')) : null,
        h('button', { type: 'button', class: 'secondary', onclick: () => fileInput.click() }, t('algorithms.import')), fileInput)),
    fileMsg,
    form);
  if (original) {
    fill(original);
    name.readOnly = false;
  } else {
    syncMode();
  }
  return undefined;
}
