// Create a training job from an algorithm or a gallery subscription (or as a copy of
// another job).
import { h, add, clear, field, stamp } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, v2, allAlgorithms, ApiError } from '../api.js';
import { clearErrors, showError, errorPanel } from '../errors.js';
import { locationInput } from '../browser.js';
import { datasetPicker, inputRemote } from './datasets.js';
import { navigate } from '../app.js';
import { modeOf } from './algorithms.js';

const RETRY = 'fault-tolerance/job-retry-num';

function valueControl(p, value) {
  const c = p.constraint || {};
  const v = value === undefined || value === null ? '' : String(value);
  let el;
  if (c.type === 'Boolean') {
    const cur = v === '' ? '' : (['true', 'True', '1'].includes(v) ? 'True' : 'False');
    el = h('select', null, h('option', { value: '' }, '—'), ['True', 'False'].map((b) => h('option', { value: b, selected: b === cur }, b)));
  } else if (c.valid_type === 'Enum') {
    el = h('select', null, h('option', { value: '' }, '—'), (c.valid_range || []).map((x) => h('option', { value: String(x), selected: String(x) === v }, String(x))));
  } else {
    el = h('input', { value: v, inputmode: c.type === 'Integer' || c.type === 'Float' ? 'decimal' : null, spellcheck: 'false' });
    if (c.valid_type === 'Range') el.placeholder = `[${c.valid_range[0]}, ${c.valid_range[1]}]`;
  }
  el.classList.add('hp-value');
  el.setAttribute('aria-label', p.name);
  if (c.editable === false) el.disabled = true;
  return el;
}

function constraintText(p) {
  const c = p.constraint || {};
  const parts = [t(`type.${c.type || 'String'}`)];
  if (c.valid_type === 'Range') parts.push(`[${c.valid_range[0]}, ${c.valid_range[1]}]`);
  if (c.valid_type === 'Enum') parts.push(`{${(c.valid_range || []).join(', ')}}`);
  return parts.join(' ');
}

export async function render(main, ctx) {
  let algorithms = [];
  let flavors = [];
  let filesystems = null;
  let copyOf = null;
  const [algs, fl, fs, sa, gs] = await Promise.allSettled([
    allAlgorithms(), get(v2('/training-job-flavors')), get(v2('/filesystems')), get(v2('/search-algorithms')),
    get(v2('/gallery-subscriptions'))]);
  // Subscribed algorithms (seed S1.1): one choice per published version of each subscription.
  const subscriptions = gs.status === 'fulfilled' ? gs.value.items : [];
  const subChoices = subscriptions.flatMap((sub) => sub.item_versions.filter((v) => v.status === 'published')
    .map((v) => ({ value: `sub:${sub.subscription_id}:${v.item_version_id}`, sub, version: v })));
  const searchAlgos = sa.status === 'fulfilled' ? (sa.value.search_algo_list || []) : null;
  if (algs.status === 'rejected') throw algs.reason;
  algorithms = algs.value;
  flavors = fl.status === 'fulfilled' ? fl.value.flavors : [];
  filesystems = fs.status === 'fulfilled' ? fs.value.items : null;
  if (ctx.query.copy) copyOf = await get(v2(`/training-jobs/${encodeURIComponent(ctx.query.copy)}`));
  if (!ctx.isCurrent()) return undefined;

  const summary = h('div', { class: 'summary' });
  const form = h('form', { class: 'form job-form', novalidate: true });
  const algSelect = h('select', { 'data-field': 'algorithm.id', id: 'algorithm' },
    h('option', { value: '' }, t('jobs.pick_algorithm')),
    algorithms.map((a) => h('option', { value: a.metadata.id }, a.metadata.name)),
    subChoices.length ? h('optgroup', { label: t('jobs.subscribed_group') },
      subChoices.map((c) => h('option', { value: c.value }, t('jobs.from_gallery', { name: c.sub.name, version: c.version.version_num })))) : null);
  const name = h('input', { 'data-field': 'metadata.name', spellcheck: 'false', autocomplete: 'off' });
  const desc = h('input', { 'data-field': 'metadata.description' });
  const algInfo = h('div', { class: 'alg-info' });
  const paramsBody = h('tbody');
  const paramsSection = h('section', { class: 'panel', 'data-field': 'algorithm.parameters' });
  const inputsSection = h('section', { class: 'panel', 'data-field': 'algorithm.inputs' });
  const outputsSection = h('section', { class: 'panel', 'data-field': 'algorithm.outputs' });
  const mountsBody = h('tbody');
  const flavor = h('select', { 'data-field': 'spec.resource.flavor_id' },
    flavors.map((f) => h('option', { value: f.flavor_id }, `${f.flavor_name} (${f.flavor_id})`)));
  const nodes = h('input', { type: 'number', min: 1, max: 64, value: 1, 'data-field': 'spec.resource.node_count' });
  const retries = h('select', { 'data-field': `metadata.annotations.${RETRY}` }, [0, 1, 2, 3].map((n) => h('option', { value: n }, String(n))));
  const unconditional = h('input', { type: 'checkbox', 'data-field': 'metadata.annotations.fault-tolerance/job-unconditional-retry' });
  const envBody = h('tbody');
  const search = searchSection();
  const submit = h('button', { type: 'submit', class: 'primary', 'data-action': 'create-job' }, t('jobs.submit'));
  let alg = null;
  let nameTouched = false;
  const outputControls = [];

  name.addEventListener('input', () => { nameTouched = true; refreshDefaults(); });

  function suggestOutput(o, count) {
    const jc = alg.job_config;
    const m = (jc.code_dir || '').match(/^(obs|s3):\/\/([^/]+)\//);
    const bucket = m ? `${m[1]}://${m[2]}` : 'obs://modelyard';
    const base = `${bucket}/${alg.metadata.name}/runs/${name.value.trim() || 'job'}/`;
    return count > 1 ? `${base}${o.name}/` : base;
  }

  function refreshDefaults() {
    for (const oc of outputControls) {
      if (!oc.touched) oc.input.value = suggestOutput(oc.spec, outputControls.length);
    }
  }

  function paramRow(p, value, removed) {
    const c = p.constraint || {};
    const control = valueControl(p, value);
    const locked = c.required || c.editable === false;
    const tr = h('tr', { class: `hp-row${removed ? ' removed' : ''}`, 'data-name': p.name });
    const btn = h('button', { type: 'button', class: 'small secondary', disabled: locked,
      title: locked ? t(c.required ? 'jobs.required_locked' : 'jobs.not_editable') : '' });
    const sync = () => {
      const off = tr.classList.contains('removed');
      control.disabled = off || c.editable === false;
      btn.textContent = off ? t('jobs.restore') : t('common.remove');
      btn.dataset.action = off ? 'restore' : 'remove';
    };
    btn.addEventListener('click', () => { tr.classList.toggle('removed'); sync(); });
    sync();
    add(tr, 
      h('td', { class: 'mono' }, p.name, c.required ? h('span', { class: 'req', title: t('params.required') }, ' *') : null),
      h('td', null, control),
      h('td', { class: 'sub' }, constraintText(p), p.description ? h('div', null, p.description) : null),
      h('td', null, btn));
    tr._p = p; tr._control = control;
    return tr;
  }

  function customRow(nameV = '', valueV = '') {
    const n = h('input', { value: nameV, class: 'mono', 'aria-label': t('params.name') });
    const v = h('input', { value: valueV, 'aria-label': t('params.value') });
    const tr = h('tr', { class: 'hp-row custom' });
    add(tr, h('td', null, n), h('td', null, v), h('td', { class: 'sub' }, t('jobs.custom_param')),
      h('td', null, h('button', { type: 'button', class: 'small secondary', onclick: () => tr.remove() }, t('common.remove'))));
    tr._custom = { n, v };
    return tr;
  }

  function mountRow(m = {}) {
    const fsName = filesystems
      ? h('select', { class: 'm-name' }, h('option', { value: '' }, '—'), filesystems.map((f) => h('option', { value: f.name, selected: f.name === m.name }, f.name)))
      : h('input', { class: 'm-name', value: m.name || '', placeholder: t('mounts.fs_name') });
    if (filesystems && m.name && !filesystems.some((f) => f.name === m.name)) fsName.appendChild(h('option', { value: m.name, selected: true }, m.name));
    const loc = h('input', { class: 'm-loc', value: m.storage_location || '/', spellcheck: 'false' });
    const path = h('input', { class: 'm-path', value: m.local_path || '', placeholder: '/data', spellcheck: 'false' });
    const ro = h('input', { type: 'checkbox', class: 'm-ro', checked: !!m.read_only });
    const tr = h('tr', { class: 'mount-row' });
    add(tr, h('td', null, fsName), h('td', null, loc), h('td', null, path), h('td', { class: 'center' }, ro),
      h('td', null, h('button', { type: 'button', class: 'small danger icon', 'aria-label': t('common.remove'), onclick: () => tr.remove() }, '✕')));
    tr._m = { fsName, loc, path, ro };
    return tr;
  }

  function envRow(k = '', v = '') {
    const n = h('input', { value: k, class: 'mono', 'aria-label': t('env.name') });
    const val = h('input', { value: v, 'aria-label': t('env.value') });
    const tr = h('tr', { class: 'env-row' });
    add(tr, h('td', null, n), h('td', null, val), h('td', null, h('button', { type: 'button', class: 'small danger icon', 'aria-label': t('common.remove'), onclick: () => tr.remove() }, '✕')));
    tr._e = { n, val };
    return tr;
  }

  // Automatic search: policies.auto_search (ModelArts' shape); each trial is a job.
  function searchSection() {
    const P = 'algorithm.policies.auto_search';
    const enabled = h('input', { type: 'checkbox', 'data-testid': 'search-enabled' });
    const metric = h('input', { value: 'accuracy', 'data-field': `${P}.reward_attrs[0].name`, spellcheck: 'false' });
    const mode = h('select', { 'data-field': `${P}.reward_attrs[0].mode` }, h('option', { value: 'max' }, t('search.max')), h('option', { value: 'min' }, t('search.min')));
    const regex = h('input', { 'data-field': `${P}.reward_attrs[0].regex`, spellcheck: 'false', placeholder: t('search.regex_hint') });
    const algo = h('select', { 'data-field': `${P}.algo_configs[0].name` }, (searchAlgos || []).map((a) => h('option', { value: a.name, title: a.description }, a.name)));
    const trials = h('input', { type: 'number', min: 1, value: 4, 'data-field': `${P}.algo_configs[0].params` });
    const parallel = h('input', { type: 'number', min: 1, value: 1, 'data-field': `${P}.parallel_trials` });
    const tbody = h('tbody');
    const paramNames = () => ((alg && alg.job_config.parameters) || []).map((p) => p.name);
    function row(sp = {}) {
      const tr = h('tr', { class: 'sp-row' });
      const name = h('select', { class: 'sp-name' }, paramNames().map((n) => h('option', { value: n, selected: n === sp.name }, n)));
      const type = h('select', { class: 'sp-type' }, ['continuous', 'integer', 'discrete', 'categorical'].map((x) => h('option', { value: x, selected: x === (sp.param_type || 'continuous') }, t(`search.type_${x}`))));
      const lo = h('input', { class: 'sp-lo', value: sp.lower_bound ?? '', placeholder: t('params.min') });
      const hi = h('input', { class: 'sp-hi', value: sp.upper_bound ?? '', placeholder: t('params.max') });
      const values = h('input', { class: 'sp-values', value: Array.isArray(sp.discrete_values) ? sp.discrete_values.join(', ') : (sp.discrete_values || ''), placeholder: 'a, b, c' });
      const sync = () => {
        const list = ['discrete', 'categorical'].includes(type.value);
        lo.disabled = hi.disabled = list; values.disabled = !list;
      };
      type.addEventListener('change', sync); sync();
      tr.append(h('td', null, name), h('td', null, type), h('td', null, lo), h('td', null, hi), h('td', null, values),
        h('td', null, h('button', { type: 'button', class: 'small danger icon', 'aria-label': t('common.remove'), onclick: () => tr.remove() }, '✕')));
      tr._sp = { name, type, lo, hi, values };
      return tr;
    }
    const body = h('div', { class: 'search-body' },
      h('div', { class: 'grid3' },
        field('search.metric', metric, { hint: t('search.metric_hint') }), field('search.mode', mode), field('search.regex', regex)),
      h('div', { class: 'grid3' }, field('search.algorithm', algo), field('search.num_samples', trials), field('search.parallel', parallel)),
      h('div', { class: 'table-wrap' }, h('table', { class: 'edit search-params', 'data-field': `${P}.search_params` },
        h('thead', null, h('tr', null, ['params.name', 'params.type', 'params.min', 'params.max', 'search.values', ''].map((k) => h('th', null, k ? t(k) : '')))), tbody)),
      h('button', { type: 'button', class: 'small secondary', 'data-action': 'add-search-param', onclick: () => tbody.appendChild(row()) }, `+ ${t('search.add_param')}`));
    const sync = () => { body.hidden = !enabled.checked; };
    enabled.addEventListener('change', () => { if (enabled.checked && !tbody.children.length) tbody.appendChild(row()); sync(); });
    sync();
    const section = h('section', { class: 'panel', 'data-field': P, hidden: searchAlgos === null },
      h('h2', null, t('search.title')),
      h('label', { class: 'check' }, enabled, ' ', t('search.enable')), body);
    return {
      section,
      reset(policy) {
        clear(tbody);
        enabled.checked = !!policy;
        if (policy) {
          const r = (policy.reward_attrs || [])[0] || {};
          if (r.name) metric.value = r.name;
          if (r.mode) mode.value = r.mode;
          regex.value = r.regex || '';
          const ac = (policy.algo_configs || [])[0] || {};
          if (ac.name) algo.value = ac.name;
          const ns = (ac.params || []).find((p) => p.key === 'num_samples');
          if (ns) trials.value = ns.value;
          if (policy.parallel_trials) parallel.value = policy.parallel_trials;
          (policy.search_params || []).forEach((sp) => tbody.appendChild(row(sp)));
        }
        sync();
      },
      policy() {
        if (!enabled.checked) return null;
        const reward = { name: metric.value.trim(), mode: mode.value };
        if (regex.value.trim()) reward.regex = regex.value.trim();
        const params = [...tbody.querySelectorAll('tr.sp-row')].map((tr, i) => {
          const c = tr._sp;
          const base = `${P}.search_params[${i}]`;
          tr.dataset.field = base;
          c.name.dataset.field = `${base}.name`; c.type.dataset.field = `${base}.param_type`;
          c.lo.dataset.field = `${base}.lower_bound`; c.hi.dataset.field = `${base}.upper_bound`;
          c.values.dataset.field = `${base}.discrete_values`;
          const sp = { name: c.name.value, param_type: c.type.value };
          if (['discrete', 'categorical'].includes(c.type.value)) sp.discrete_values = c.values.value.split(',').map((x) => x.trim()).filter(Boolean);
          else { sp.lower_bound = c.lo.value.trim(); sp.upper_bound = c.hi.value.trim(); }
          return sp;
        });
        return {
          reward_attrs: [reward],
          search_params: params,
          algo_configs: [{ name: algo.value, params: [{ key: 'num_samples', value: String(trials.value || 1), type: 'Integer' }] }],
          parallel_trials: Number(parallel.value) || 1,
        };
      },
    };
  }

  // The published version as an algorithm-shaped record; the job names the subscription.
  async function subscribedAlgorithm(value) {
    const choice = subChoices.find((c) => c.value === value);
    const asset = await get(v2(`/gallery-algorithms/${encodeURIComponent(choice.sub.content_id)}`));
    const version = asset.versions.find((v) => v.version_id === choice.version.item_version_id);
    return { metadata: { name: asset.name }, job_config: version.job_config,
      subscription: { subscription_id: choice.sub.subscription_id, item_version_id: version.version_id } };
  }

  let chooseSeq = 0;
  async function chooseAlgorithm(id, job) {
    const seq = ++chooseSeq; // a later choice wins over a slower earlier one
    clearErrors(form);
    outputControls.length = 0;
    clear(algInfo); clear(paramsBody); clear(paramsSection); clear(inputsSection); clear(outputsSection);
    alg = null;
    if (!id) { paramsSection.hidden = inputsSection.hidden = outputsSection.hidden = true; submit.disabled = true; return; }
    let loaded;
    try {
      loaded = id.startsWith('sub:') ? await subscribedAlgorithm(id) : await get(v2(`/algorithms/${encodeURIComponent(id)}`));
    } catch (err) {
      if (seq === chooseSeq) algInfo.appendChild(errorPanel(err));
      return;
    }
    if (seq !== chooseSeq) return;
    alg = loaded;
    submit.disabled = false;
    const jc = alg.job_config;
    if (!nameTouched && !job) name.value = `${alg.metadata.name}-${stamp()}`.slice(0, 64);
    const e = jc.engine || {};
    add(algInfo, h('dl', { class: 'kv' },
      h('dt', null, t('algorithms.mode')), h('dd', null, t(`mode.${alg.subscription ? 'subscribed' : modeOf(jc)}`)),
      h('dt', null, t('algorithms.engine')), h('dd', { class: 'mono' }, [e.engine_name, e.engine_version, e.image_url].filter(Boolean).join(' ') || '—'),
      jc.code_dir ? [h('dt', null, t('algorithms.code_dir')), h('dd', { class: 'mono' }, jc.code_dir)] : null,
      jc.boot_file ? [h('dt', null, t('algorithms.boot_file')), h('dd', { class: 'mono' }, jc.boot_file)] : null,
      jc.command ? [h('dt', null, t('algorithms.command')), h('dd', { class: 'mono' }, jc.command)] : null));

    // Hyperparameters: defaults prefilled; a copied job's values win.
    const given = new Map(((job && job.algorithm.parameters) || []).map((p) => [p.name, p.value]));
    const defined = new Set((jc.parameters || []).map((p) => p.name));
    for (const p of jc.parameters || []) {
      const has = given.has(p.name);
      const v = has ? given.get(p.name) : p.value;
      paramsBody.appendChild(paramRow(p, v, has && (v === null || v === undefined)));
    }
    for (const [k, v] of given) if (!defined.has(k) && v !== null) paramsBody.appendChild(customRow(k, String(v)));
    paramsSection.hidden = false;
    add(paramsSection, h('h2', null, t('params.title')),
      (jc.parameters || []).length || jc.parameters_customization
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'edit hp' },
          h('thead', null, h('tr', null, ['params.name', 'params.value', 'params.constraint', ''].map((k) => h('th', null, k ? t(k) : '')))), paramsBody))
        : h('div', { class: 'empty' }, t('jobs.no_params')),
      jc.parameters_customization ? h('button', { type: 'button', class: 'small secondary', onclick: () => paramsBody.appendChild(customRow()) }, `+ ${t('params.add')}`) : null);

    // Inputs
    const boundIn = new Map(((job && job.algorithm.inputs) || []).map((c) => [c.name, c]));
    inputsSection.hidden = !(jc.inputs || []).length;
    add(inputsSection, h('h2', null, t('channels.inputs')));
    (jc.inputs || []).forEach((c, i) => {
      const b = boundIn.get(c.name);
      const [box, input] = locationInput({ mode: 'dir', value: b && b.remote.obs ? b.remote.obs.obs_url : '', dataField: `algorithm.inputs[${i}].remote.obs.obs_url` });
      input.classList.add('in-url'); input.dataset.channel = c.name;
      input.id = `in-${c.name}`;
      const f = field('channels.location', box, { hint: [c.description, t(`channels.${c.access_method || 'parameter'}_hint`, { name: c.name })].filter(Boolean).join(' — ') });
      f.querySelector('label').textContent = c.name;
      f.querySelector('label').setAttribute('for', input.id);
      f.dataset.field = `algorithm.inputs[${i}]`;
      box.before(datasetPicker(box, input, i, b)); // issue 18: or a dataset version
      inputsSection.appendChild(f);
    });

    // Outputs
    const boundOut = new Map(((job && job.algorithm.outputs) || []).map((c) => [c.name, c]));
    outputsSection.hidden = !(jc.outputs || []).length;
    add(outputsSection, h('h2', null, t('channels.outputs')));
    (jc.outputs || []).forEach((c, i) => {
      const b = boundOut.get(c.name);
      const [box, input] = locationInput({ mode: 'dir', value: b ? b.remote.obs.obs_url : '', dataField: `algorithm.outputs[${i}].remote.obs.obs_url` });
      input.classList.add('out-url'); input.dataset.channel = c.name;
      input.id = `out-${c.name}`;
      const prefetch = h('input', { type: 'checkbox', class: 'prefetch', checked: b && b.prefetch_to_local !== undefined && b.prefetch_to_local !== null ? !!b.prefetch_to_local : !!c.prefetch_to_local, 'data-field': `algorithm.outputs[${i}].prefetch_to_local` });
      const oc = { spec: c, input, prefetch, touched: !!b };
      input.addEventListener('input', () => { oc.touched = true; });
      input.addEventListener('change', () => { oc.touched = true; });
      outputControls.push(oc);
      const f = field('channels.location', box, { hint: c.description });
      f.querySelector('label').textContent = c.name;
      f.querySelector('label').setAttribute('for', input.id);
      f.dataset.field = `algorithm.outputs[${i}]`;
      f.appendChild(h('label', { class: 'check' }, prefetch, ' ', t('channels.prefetch_job')));
      outputsSection.appendChild(f);
    });
    const jobPolicy = job && job.algorithm.policies && job.algorithm.policies.auto_search;
    search.reset(jobPolicy || null);
    refreshDefaults();
  }

  function body() {
    const md = { name: name.value.trim(), annotations: {} };
    if (desc.value.trim()) md.description = desc.value.trim();
    if (retries.value !== '0') md.annotations[RETRY] = retries.value;
    if (unconditional.checked) md.annotations['fault-tolerance/job-unconditional-retry'] = 'true';
    const parameters = [];
    paramsBody.querySelectorAll('tr.hp-row').forEach((tr) => {
      const i = parameters.length;
      tr.dataset.field = `algorithm.parameters[${i}]`;
      if (tr._custom) {
        tr._custom.n.dataset.field = `algorithm.parameters[${i}].name`;
        tr._custom.v.dataset.field = `algorithm.parameters[${i}].value`;
        if (!tr._custom.n.value.trim()) return;
        parameters.push({ name: tr._custom.n.value.trim(), value: tr._custom.v.value });
        return;
      }
      tr._control.dataset.field = `algorithm.parameters[${i}].value`;
      if (tr.classList.contains('removed')) parameters.push({ name: tr._p.name, value: null });
      else if (tr._control.value !== '') parameters.push({ name: tr._p.name, value: tr._control.value });
      else { delete tr.dataset.field; delete tr._control.dataset.field; }
    });
    const inputs = [...inputsSection.querySelectorAll('input.in-url')].map((el) => ({ name: el.dataset.channel, remote: inputRemote(el) }))
      .filter((c) => c.remote.dataset || c.remote.obs.obs_url);
    const outputs = outputControls.map((oc) => ({ name: oc.spec.name, remote: { obs: { obs_url: oc.input.value.trim() } }, prefetch_to_local: oc.prefetch.checked }))
      .filter((c) => c.remote.obs.obs_url);
    const environments = {};
    envBody.querySelectorAll('tr.env-row').forEach((tr) => {
      const k = tr._e.n.value.trim();
      tr._e.n.dataset.field = `algorithm.environments.${k}`;
      if (k) environments[k] = tr._e.val.value;
    });
    const volumes = [];
    mountsBody.querySelectorAll('tr.mount-row').forEach((tr) => {
      const m = tr._m;
      const i = volumes.length;
      tr.dataset.field = `spec.volumes[${i}]`;
      m.fsName.dataset.field = `spec.volumes[${i}].filesystem.name`;
      m.loc.dataset.field = `spec.volumes[${i}].filesystem.storage_location`;
      m.path.dataset.field = `spec.volumes[${i}].filesystem.local_path`;
      m.ro.dataset.field = `spec.volumes[${i}].filesystem.read_only`;
      volumes.push({ filesystem: { name: m.fsName.value.trim(), storage_location: m.loc.value.trim() || '/', local_path: m.path.value.trim(), read_only: m.ro.checked } });
    });
    const resource = { node_count: Number(nodes.value) || 1 };
    if (flavor.value) resource.flavor_id = flavor.value;
    const spec = { resource };
    if (volumes.length) spec.volumes = volumes;
    const algorithm = alg.subscription ? { ...alg.subscription, parameters, inputs, outputs } : { id: alg.metadata.id, parameters, inputs, outputs };
    if (Object.keys(environments).length) algorithm.environments = environments;
    const policy = search.policy();
    if (policy) algorithm.policies = { auto_search: policy };
    return { kind: 'job', metadata: md, algorithm, spec };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (!alg) { showError(form, new ApiError(400, { error_msg: t('jobs.pick_algorithm'), field: 'algorithm.id' }), summary); return; }
    submit.disabled = true;
    try {
      const data = body();
      const job = await post(v2('/training-jobs'), data);
      const page = data.algorithm.policies ? 'search' : 'jobs';
      navigate(`#/${page}/${encodeURIComponent(job.metadata.id)}`);
    } catch (err) {
      if (err instanceof ApiError) showError(form, err, summary); else summary.prepend(errorPanel(err));
    } finally {
      submit.disabled = !alg;
    }
  });
  algSelect.addEventListener('change', () => chooseAlgorithm(algSelect.value));

  add(form, summary,
    h('section', { class: 'panel' }, h('h2', null, t('jobs.basics')),
      h('div', { class: 'grid2' },
        field('jobs.algorithm', algSelect, { required: true }),
        field('jobs.name', name, { required: true, hint: t('algorithms.name_hint') }),
        field('jobs.description', desc)),
      algInfo,
      !algorithms.length && !subChoices.length ? h('div', { class: 'panel notice' }, t('jobs.no_algorithms'), ' ', h('a', { href: '#/algorithms/new' }, t('algorithms.create'))) : null),
    paramsSection, inputsSection, outputsSection,
    h('section', { class: 'panel', 'data-field': 'spec.volumes' }, h('h2', null, t('mounts.title')),
      h('p', { class: 'hint' }, filesystems ? t('mounts.hint') : t('mounts.no_fs_api')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'edit mounts' },
        h('thead', null, h('tr', null, ['mounts.filesystem', 'mounts.storage_location', 'mounts.local_path', 'mounts.read_only', ''].map((k) => h('th', null, k ? t(k) : '')))),
        mountsBody)),
      h('button', { type: 'button', class: 'small secondary', 'data-action': 'add-mount', onclick: () => mountsBody.appendChild(mountRow()) }, `+ ${t('mounts.add')}`)),
    search.section,
    h('section', { class: 'panel' }, h('h2', null, t('jobs.resources')),
      h('div', { class: 'grid3' },
        field('jobs.flavor', flavor),
        field('jobs.node_count', nodes),
        field('jobs.retries', retries, { hint: t('jobs.retries_hint') })),
      h('label', { class: 'check' }, unconditional, ' ', t('jobs.unconditional_retry'))),
    h('section', { class: 'panel', 'data-field': 'algorithm.environments' }, h('h2', null, t('env.title')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'edit envs' },
        h('thead', null, h('tr', null, ['env.name', 'env.value', ''].map((k) => h('th', null, k ? t(k) : '')))), envBody)),
      h('button', { type: 'button', class: 'small secondary', onclick: () => envBody.appendChild(envRow()) }, `+ ${t('env.add')}`)),
    h('div', { class: 'form-actions' }, h('a', { class: 'button secondary', href: '#/jobs' }, t('common.cancel')), submit));

  add(main, h('div', { class: 'page-head' }, h('h1', null, copyOf ? t('jobs.copy_title', { name: copyOf.metadata.name }) : t('jobs.new_title'))), form);

  if (copyOf) {
    const ann = copyOf.metadata.annotations || {};
    name.value = `${copyOf.metadata.name}`.replace(/-copy(-\d+)?$/, '').slice(0, 50) + `-copy-${stamp().slice(9)}`;
    nameTouched = true;
    desc.value = copyOf.metadata.description || '';
    retries.value = String(ann[RETRY] || '0');
    unconditional.checked = String(ann['fault-tolerance/job-unconditional-retry']) === 'true';
    const res = (copyOf.spec && copyOf.spec.resource) || {};
    if (res.flavor_id) flavor.value = res.flavor_id;
    nodes.value = res.node_count || 1;
    ((copyOf.spec && copyOf.spec.volumes) || []).forEach((v) => { if (v.filesystem) mountsBody.appendChild(mountRow(v.filesystem)); });
    Object.entries(copyOf.algorithm.environments || {}).forEach(([k, v]) => envBody.appendChild(envRow(k, v)));
    const subValue = copyOf.algorithm.subscription_id && `sub:${copyOf.algorithm.subscription_id}:${copyOf.algorithm.item_version_id}`;
    const algId = (subChoices.some((c) => c.value === subValue) && subValue)
      || copyOf.algorithm.id || (algorithms.find((a) => a.metadata.name === copyOf.algorithm.name) || {}).metadata?.id;
    if (algId) { algSelect.value = algId; await chooseAlgorithm(algId, copyOf); }
    else algInfo.appendChild(h('div', { class: 'panel notice' }, t('jobs.copy_inline')));
  } else if (ctx.query.subscription) {
    const mine = subChoices.filter((c) => c.sub.subscription_id === ctx.query.subscription);
    const c = mine.find((x) => x.version.item_version_id === ctx.query.version) || mine[mine.length - 1];
    if (c) { algSelect.value = c.value; await chooseAlgorithm(c.value); }
  } else if (ctx.query.algorithm) {
    const a = algorithms.find((x) => x.metadata.id === ctx.query.algorithm || x.metadata.name === ctx.query.algorithm);
    if (a) { algSelect.value = a.metadata.id; await chooseAlgorithm(a.metadata.id); }
  } else if (algorithms.length === 1) {
    algSelect.value = algorithms[0].metadata.id; await chooseAlgorithm(algorithms[0].metadata.id);
  } else {
    await chooseAlgorithm('');
  }
  return undefined;
}
