// Object storage: browse buckets and folders, upload files, download objects.
import { h, add, clear, fmtBytes } from '../dom.js';
import { t } from '../i18n.js';
import { raw, v2 } from '../api.js';
import { errorPanel } from '../errors.js';
import { listFolder, listBuckets, listingTable } from '../browser.js';

export async function render(main, ctx) {
  let url = ctx.query.url || '';
  const urlInput = h('input', { type: 'text', class: 'grow', value: url, placeholder: 'obs://bucket/folder/', 'aria-label': t('storage.url'), spellcheck: 'false' });
  const buckets = h('div', { class: 'bucket-bar' });
  const body = h('div', { class: 'storage-body' });
  const fileInput = h('input', { type: 'file', multiple: true, hidden: true, 'data-testid': 'upload-input' });
  const uploadMsg = h('div', { class: 'upload-msg', role: 'status' });
  const drop = h('div', { class: 'dropzone', tabindex: '0' }, t('storage.drop'));
  const go = (u) => { window.location.hash = `#/storage?url=${encodeURIComponent(u)}`; };

  add(main, h('div', { class: 'page-head' }, h('h1', null, t('storage.title')),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', 'data-action': 'upload', onclick: () => fileInput.click() }, t('storage.upload')), fileInput)),
  h('p', { class: 'hint' }, t('storage.hint')),
  h('div', { class: 'toolbar' }, urlInput, h('button', { type: 'button', onclick: () => go(normal(urlInput.value)) }, t('storage.go'))),
  buckets, uploadMsg, body, drop);
  urlInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(normal(urlInput.value)); });

  function normal(u) {
    let s = (u || '').trim();
    if (s && !s.includes('://')) s = `obs://${s.replace(/^\/+/, '')}`;
    if (s && !s.endsWith('/')) s += '/';
    return s;
  }

  async function upload(files) {
    if (!url) { uploadMsg.className = 'upload-msg field-error'; uploadMsg.textContent = t('storage.upload_where'); return; }
    for (const file of files) {
      const target = `${url}${file.webkitRelativePath || file.name}`;
      uploadMsg.className = 'upload-msg';
      uploadMsg.textContent = t('storage.uploading', { name: file.name, size: fmtBytes(file.size) });
      try {
        await raw('POST', v2('/storage/object'), { query: { url: target }, body: file, headers: { 'Content-Type': 'application/octet-stream' } });
      } catch (err) {
        uploadMsg.className = 'upload-msg field-error';
        uploadMsg.textContent = `${file.name}: ${err.message}`;
        return;
      }
    }
    uploadMsg.className = 'upload-msg ok';
    uploadMsg.textContent = t('storage.uploaded', { n: files.length });
    show();
  }
  fileInput.addEventListener('change', () => { upload([...fileInput.files]); fileInput.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); upload([...e.dataTransfer.files]); });

  async function show() {
    const items = await listBuckets();
    clear(buckets);
    if (items.length) add(buckets, h('span', { class: 'hint' }, t('storage.buckets')), ' ', ...items.map((b) => h('a', { class: `chip ${url.startsWith(b.url) ? 'active' : ''}`, href: `#/storage?url=${encodeURIComponent(b.url)}` }, b.name)));
    if (!url) {
      drop.hidden = true;
      clear(body).appendChild(h('div', { class: 'empty' }, items.length ? t('storage.choose_bucket') : t('storage.no_buckets')));
      return;
    }
    drop.hidden = false;
    clear(body).appendChild(h('div', { class: 'loading' }, t('common.loading')));
    try {
      const listing = await listFolder(url);
      add(clear(body), listingTable(listing, { onFolder: go }));
    } catch (err) {
      clear(body).appendChild(errorPanel(err));
    }
  }
  await show();
}
