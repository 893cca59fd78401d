// The algorithm gallery (seed S1.1): algorithms published for every project. Subscribe to
// one, then create a training job from the subscription: no code, only the settings its
// publisher exposed. Publishing takes one of this project's algorithms; its code is copied.
import { h, add, clear, fmtTime, field } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, del, v2, project, allAlgorithms, ApiError } from '../api.js';
import { clearErrors, showError, errorPanel } from '../errors.js';
import { takeFlash, flash } from '../flash.js';
import { navigate } from '../app.js';

const published = (versions) => versions.filter((v) => v.status === 'published');

function statusBadge(status) {
  return h('span', { class: `badge ${status === 'published' ? 'ok' : 'stop'}`, 'data-status': status }, t(`gallery.status_${status}`, {}, status));
}

function trainHref(sub, versionId) {
  const q = new URLSearchParams({ subscription: sub.subscription_id });
  if (versionId) q.set('version', versionId);
  return `#/jobs/new?${q}`;
}

async function loadSubscriptions() {
  return (await get(v2('/gallery-subscriptions'))).items;
}

export async function render(main, ctx) {
  if (ctx.parts[0]) return renderAsset(main, ctx, ctx.parts[0]);
  const [assets, subs] = await Promise.all([get(v2('/gallery-algorithms'), { limit: 1000 }), loadSubscriptions()]);
  if (!ctx.isCurrent()) return undefined;
  const byContent = new Map(subs.map((s) => [s.content_id, s]));
  const notice = h('div');
  const fl = takeFlash();
  if (fl) notice.appendChild(fl);

  async function subscribe(asset, where) {
    try {
      await post(v2('/gallery-subscriptions'), { content_id: asset.content_id });
      flash(t('gallery.subscribed_to', { name: asset.name }));
      navigate('#/gallery');
    } catch (err) { where.prepend(errorPanel(err)); }
  }

  const assetTable = assets.items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list gallery' },
    h('thead', null, h('tr', null, ['gallery.name', 'gallery.publisher', 'gallery.versions', 'gallery.description', 'common.actions'].map((k) => h('th', null, t(k))))),
    h('tbody', null, assets.items.map((a) => {
      const sub = byContent.get(a.content_id);
      const live = published(a.versions);
      return h('tr', { 'data-content-id': a.content_id },
        h('td', null, h('a', { href: `#/gallery/${encodeURIComponent(a.content_id)}` }, a.name)),
        h('td', { class: 'mono' }, a.publisher),
        h('td', null, a.versions.map((v) => h('span', { class: 'version' }, v.version_num, ' ', statusBadge(v.status), ' '))),
        h('td', { class: 'sub' }, a.description),
        h('td', { class: 'actions' }, sub
          ? h('a', { class: 'button small primary', href: trainHref(sub), 'data-action': 'train' }, t('gallery.train'))
          : h('button', { type: 'button', class: 'small secondary', 'data-action': 'subscribe', disabled: !live.length,
            onclick: (e) => subscribe(a, e.target.closest('table').parentNode) }, t('gallery.subscribe'))));
    })))) : h('div', { class: 'empty' }, t('gallery.none'));

  const subsBox = h('section', { class: 'panel', 'data-testid': 'subscriptions' }, h('h2', null, t('gallery.my_subscriptions')),
    subs.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list subscriptions' },
      h('thead', null, h('tr', null, ['gallery.name', 'gallery.versions', 'jobs.created', 'common.actions'].map((k) => h('th', null, t(k))))),
      h('tbody', null, subs.map((s) => h('tr', { 'data-subscription-id': s.subscription_id },
        h('td', null, h('a', { href: `#/gallery/${encodeURIComponent(s.content_id)}` }, s.name)),
        h('td', null, s.item_versions.map((v) => h('span', { class: 'version' }, v.version_num, ' ', statusBadge(v.status), ' '))),
        h('td', null, fmtTime(s.create_time)),
        h('td', { class: 'actions' },
          h('a', { class: 'button small primary', href: trainHref(s), 'data-action': 'train' }, t('gallery.train')),
          h('button', { type: 'button', class: 'small danger', 'data-action': 'unsubscribe', onclick: async (e) => {
            if (!window.confirm(t('gallery.confirm_unsubscribe', { name: s.name }))) return;
            try { await del(v2(`/gallery-subscriptions/${encodeURIComponent(s.subscription_id)}`)); navigate('#/gallery'); } catch (err) { e.target.closest('section').prepend(errorPanel(err)); }
          } }, t('gallery.unsubscribe')))))))) : h('div', { class: 'empty' }, t('gallery.no_subscriptions')));

  add(main, h('div', { class: 'page-head' }, h('h1', null, t('gallery.title'))),
    h('p', { class: 'hint' }, t('gallery.hint')), notice, assetTable, subsBox,
    await publishPanel(assets.items));
  return undefined;
}

// Publish one of this project's algorithms: a new asset, or a new version of one of ours.
async function publishPanel(assets) {
  let algorithms = [];
  try { algorithms = await allAlgorithms(); } catch { algorithms = []; }
  const form = h('form', { class: 'form inline-form', novalidate: true, 'data-testid': 'publish-form' });
  const summary = h('div');
  const algorithm = h('select', { 'data-field': 'algorithm.id' }, algorithms.map((a) => h('option', { value: a.metadata.id }, a.metadata.name)));
  const mine = assets.filter((a) => a.publisher === project());
  const asset = h('select', { 'data-field': 'content_id' }, h('option', { value: '' }, t('gallery.new_asset')),
    mine.map((a) => h('option', { value: a.content_id }, a.name)));
  const versionNum = h('input', { 'data-field': 'content_info.version_num', spellcheck: 'false', placeholder: t('gallery.version_num_hint') });
  const desc = h('input', { 'data-field': 'content_info.desc' });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: !algorithms.length }, t('gallery.publish'));
  add(form, summary, h('p', { class: 'hint' }, t('gallery.publish_hint')),
    h('div', { class: 'grid2' }, field('gallery.algorithm', algorithm, { required: true }), field('gallery.asset', asset),
      field('gallery.version_num', versionNum), field('gallery.desc', desc)),
    algorithms.length ? null : h('div', { class: 'panel notice' }, t('gallery.no_algorithms')),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { algorithm: { id: algorithm.value }, content_info: {} };
    if (asset.value) body.content_id = asset.value;
    if (versionNum.value.trim()) body.content_info.version_num = versionNum.value.trim();
    if (desc.value.trim()) body.content_info.desc = desc.value.trim();
    submit.disabled = true;
    try {
      const r = await post(v2('/gallery-algorithm-publication'), body);
      flash(t('gallery.published', { name: algorithm.selectedOptions[0].textContent, version: r.version_num }));
      navigate(`#/gallery/${encodeURIComponent(r.content_id)}`);
    } catch (err) {
      if (err instanceof ApiError) showError(form, err, summary); else summary.prepend(errorPanel(err));
    } finally { submit.disabled = false; }
  });
  return h('details', { class: 'panel' }, h('summary', null, t('gallery.publish')), form);
}

function paramsTable(params) {
  if (!params.length) return h('div', { class: 'empty' }, t('jobs.no_params'));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list params' },
    h('thead', null, h('tr', null, ['params.name', 'params.default', 'params.constraint', 'params.description'].map((k) => h('th', null, t(k))))),
    h('tbody', null, params.map((p) => {
      const c = p.constraint || {};
      const rule = [t(`type.${c.type || 'String'}`)];
      if (c.valid_type === 'Range') rule.push(`[${c.valid_range[0]}, ${c.valid_range[1]}]`);
      if (c.valid_type === 'Enum') rule.push(`{${(c.valid_range || []).join(', ')}}`);
      if (c.required) rule.push(t('params.required'));
      if (c.editable === false) rule.push(t('jobs.not_editable'));
      return h('tr', { 'data-name': p.name }, h('td', { class: 'mono' }, p.name),
        h('td', { class: 'mono' }, p.value === undefined || p.value === null ? '—' : String(p.value)),
        h('td', { class: 'sub' }, rule.join(' · ')), h('td', { class: 'sub' }, p.description || ''));
    }))));
}

async function renderAsset(main, ctx, contentId) {
  const [asset, subs] = await Promise.all([get(v2(`/gallery-algorithms/${encodeURIComponent(contentId)}`)), loadSubscriptions()]);
  if (!ctx.isCurrent()) return undefined;
  const sub = subs.find((s) => s.content_id === asset.content_id);
  const mine = asset.publisher === project();
  const box = h('div');
  const fl = takeFlash();
  if (fl) box.appendChild(fl);
  const subscribeBtn = sub ? null : h('button', { type: 'button', class: 'primary', 'data-action': 'subscribe', disabled: !published(asset.versions).length, onclick: async () => {
    try {
      await post(v2('/gallery-subscriptions'), { content_id: asset.content_id });
      flash(t('gallery.subscribed_to', { name: asset.name }));
      navigate(`#/gallery/${encodeURIComponent(asset.content_id)}`);
    } catch (err) { box.prepend(errorPanel(err)); }
  } }, t('gallery.subscribe'));
  add(main, h('div', { class: 'page-head' },
    h('h1', null, asset.name),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/gallery' }, t('gallery.back')), subscribeBtn)),
  box,
  h('dl', { class: 'kv panel' },
    h('dt', null, t('gallery.publisher')), h('dd', { class: 'mono' }, asset.publisher),
    h('dt', null, 'content_id'), h('dd', { class: 'mono' }, asset.content_id),
    asset.description ? [h('dt', null, t('gallery.description')), h('dd', null, asset.description)] : null),
  [...asset.versions].reverse().map((v) => {
    const jc = v.job_config || {};
    const e = jc.engine || {};
    const actions = h('div', { class: 'actions' });
    if (sub && v.status === 'published') actions.appendChild(h('a', { class: 'button small primary', href: trainHref(sub, v.version_id), 'data-action': 'train' }, t('gallery.train')));
    if (mine && v.status === 'published') {
      actions.appendChild(h('button', { type: 'button', class: 'small danger', 'data-action': 'withdraw', onclick: async () => {
        if (!window.confirm(t('gallery.confirm_withdraw', { version: v.version_num }))) return;
        try {
          await post(v2(`/gallery-algorithms/${encodeURIComponent(asset.content_id)}/versions/${encodeURIComponent(v.version_id)}/actions`), { action_type: 'withdraw' });
          navigate(`#/gallery/${encodeURIComponent(asset.content_id)}`);
        } catch (err) { box.prepend(errorPanel(err)); }
      } }, t('gallery.withdraw')));
    }
    return h('section', { class: 'panel version', 'data-version': v.version_num },
      h('h2', null, t('gallery.version', { version: v.version_num }), ' ', statusBadge(v.status)),
      v.desc ? h('p', { class: 'hint' }, v.desc) : null,
      h('dl', { class: 'kv' },
        h('dt', null, t('algorithms.engine')), h('dd', { class: 'mono' }, [e.engine_name, e.engine_version, e.image_url].filter(Boolean).join(' ') || '—'),
        h('dt', null, t('gallery.runs')), h('dd', { class: 'mono' }, jc.boot_file || jc.command || '—'),
        h('dt', null, t('jobs.created')), h('dd', null, fmtTime(v.create_time)),
        h('dt', null, t('channels.inputs')), h('dd', { class: 'mono' }, (jc.inputs || []).map((c) => c.name).join(', ') || '—'),
        h('dt', null, t('channels.outputs')), h('dd', { class: 'mono' }, (jc.outputs || []).map((c) => c.name).join(', ') || '—')),
      h('h3', null, t('params.title')), paramsTable(jc.parameters || []), actions);
  }));
  return undefined;
}
