// Object-storage browser: a listing widget (storage page, job outputs) and a picker dialog.
import { h, add, clear, fmtBytes, fmtTime } from './dom.js';
import { t } from './i18n.js';
import { get, v2, download } from './api.js';
import { errorPanel } from './errors.js';

// Small inline icons (emoji need a colour-emoji font, which servers often lack).
function icon(kind) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', `ico ${kind}`);
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', kind === 'folder'
    ? 'M1.5 3.5h4.2l1.5 1.6h7.3v8.4h-13z'
    : 'M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3');
  svg.appendChild(path);
  return svg;
}

export async function listFolder(url) {
  return get(v2('/storage/objects'), { url });
}

export async function listBuckets() {
  try { return (await get(v2('/storage/buckets'))).items; } catch { return []; }
}

function crumbs(url, go) {
  const m = url.match(/^(\w+):\/\/([^/]+)\/(.*)$/);
  if (!m) return h('span', null, url);
  const [, scheme, bucket, key] = m;
  const parts = key.split('/').filter(Boolean);
  const out = [h('a', { href: '#', onclick: (e) => { e.preventDefault(); go(`${scheme}://${bucket}/`); } }, `${scheme}://${bucket}`)];
  let acc = '';
  for (const p of parts) {
    acc += `${p}/`;
    const target = `${scheme}://${bucket}/${acc}`;
    out.push(h('span', { class: 'sep' }, ' / '), h('a', { href: '#', onclick: (e) => { e.preventDefault(); go(target); } }, p));
  }
  return h('nav', { class: 'crumbs', 'aria-label': t('storage.path') }, out);
}

// A table of one folder. opts: onFolder(url), onFile(obj) (when picking), downloads (bool).
export function listingTable(listing, opts = {}) {
  const rows = [];
  if (listing.parent) {
    rows.push(h('tr', { class: 'folder' },
      h('td', null, h('a', { href: '#', class: 'up', onclick: (e) => { e.preventDefault(); opts.onFolder(listing.parent); } }, '↰ ..')),
      h('td', null, ''), h('td', null, ''), h('td', null, '')));
  }
  for (const f of listing.folders) {
    rows.push(h('tr', { class: 'folder', 'data-url': f.url },
      h('td', null, h('a', { href: '#', onclick: (e) => { e.preventDefault(); opts.onFolder(f.url); } }, icon('folder'), ` ${f.name}/`)),
      h('td', null, ''), h('td', null, ''),
      h('td', { class: 'actions' }, opts.onPickFolder ? h('button', { type: 'button', class: 'small', onclick: () => opts.onPickFolder(f.url) }, t('storage.select')) : '')));
  }
  for (const o of listing.objects) {
    rows.push(h('tr', { class: 'object', 'data-url': o.url },
      h('td', null, opts.onFile ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); opts.onFile(o); } }, icon('file'), ` ${o.name}`) : h('span', null, icon('file'), ` ${o.name}`)),
      h('td', { class: 'num' }, fmtBytes(o.size)),
      h('td', null, o.mtime ? fmtTime(o.mtime * 1000) : '—'),
      h('td', { class: 'actions' },
        opts.downloads !== false ? h('button', { type: 'button', class: 'small link', onclick: () => download(v2('/storage/object'), { url: o.url }, o.name) }, t('storage.download')) : null,
        opts.onFile ? h('button', { type: 'button', class: 'small', onclick: () => opts.onFile(o) }, t('storage.select')) : null)));
  }
  const table = h('table', { class: 'list storage-list' },
    h('thead', null, h('tr', null, h('th', null, t('storage.name')), h('th', { class: 'num' }, t('storage.size')), h('th', null, t('storage.modified')), h('th', null, ''))),
    h('tbody', null, rows));
  const wrap = h('div', { class: 'table-wrap' }, table);
  if (!listing.folders.length && !listing.objects.length) wrap.appendChild(h('div', { class: 'empty' }, t('storage.empty')));
  if (listing.truncated) wrap.appendChild(h('div', { class: 'hint' }, t('storage.truncated')));
  return wrap;
}

// Opens a modal to pick a folder ('dir') or a file ('file'). Resolves with a URL or null.
export function pickLocation({ start = '', mode = 'dir', title } = {}) {
  return new Promise((resolve) => {
    const urlInput = h('input', { type: 'text', class: 'grow', value: start, 'aria-label': t('storage.url'), placeholder: 'obs://bucket/folder/' });
    const body = h('div', { class: 'picker-body' });
    const bucketBar = h('div', { class: 'bucket-bar' });
    let current = '';
    const dlg = h('dialog', { class: 'picker', 'data-mode': mode },
      h('form', { method: 'dialog', class: 'picker-form', onsubmit: (e) => e.preventDefault() },
        h('h3', null, title || t(mode === 'dir' ? 'storage.pick_folder' : 'storage.pick_file')),
        h('div', { class: 'row' }, urlInput, h('button', { type: 'button', onclick: () => go(urlInput.value) }, t('storage.go'))),
        bucketBar,
        body,
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'secondary', onclick: () => finish(null) }, t('common.cancel')),
          mode === 'dir' ? h('button', { type: 'button', class: 'primary', 'data-action': 'pick-here', onclick: () => finish(normDir(urlInput.value || current)) }, t('storage.select_this_folder')) : null)));
    urlInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(urlInput.value); } });

    function normDir(u) { return u && !u.endsWith('/') ? `${u}/` : u; }

    function finish(value) {
      dlg.close();
      dlg.remove();
      resolve(value);
    }

    async function go(url) {
      let u = (url || '').trim();
      if (!u) { clear(body).appendChild(h('div', { class: 'empty' }, t('storage.choose_bucket'))); return; }
      if (!u.includes('://')) u = `obs://${u.replace(/^\/+/, '')}`;
      // A file's URL opens its folder.
      if (!u.endsWith('/') && (u.match(/\//g) || []).length > 2) u = u.slice(0, u.lastIndexOf('/') + 1);
      u = normDir(u);
      clear(body).appendChild(h('div', { class: 'loading' }, t('common.loading')));
      try {
        const listing = await listFolder(u);
        current = listing.url; urlInput.value = listing.url;
        add(clear(body), crumbs(listing.url, go), listingTable(listing, {
          onFolder: go,
          downloads: false,
          onPickFolder: mode === 'dir' ? (f) => finish(f) : null,
          onFile: mode === 'file' ? (o) => finish(o.url) : null,
        }));
      } catch (err) {
        clear(body).appendChild(errorPanel(err));
      }
    }

    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    document.body.appendChild(dlg);
    dlg.showModal();
    listBuckets().then((items) => {
      if (items.length) {
        add(bucketBar, h('span', { class: 'hint' }, t('storage.buckets')), ' ',
          ...items.map((b) => h('button', { type: 'button', class: 'chip', onclick: () => go(b.url) }, b.name)));
      }
    });
    go(start);
  });
}

// An <input> for a location with a Browse button; returns [wrapper, input].
export function locationInput({ value = '', mode = 'dir', dataField, placeholder = 'obs://bucket/path/', onChange, required } = {}) {
  const input = h('input', { type: 'text', value, placeholder, 'data-field': dataField, required, class: 'grow', spellcheck: 'false' });
  if (onChange) input.addEventListener('change', () => onChange(input.value));
  const btn = h('button', { type: 'button', class: 'secondary browse', onclick: async () => {
    const start = input.value || (input.dataset.start || '');
    const picked = await pickLocation({ start, mode });
    if (picked) { input.value = picked; input.dispatchEvent(new Event('change')); }
  } }, t('storage.browse'));
  return [h('div', { class: 'row loc' }, input, btn), input];
}
