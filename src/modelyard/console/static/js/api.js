// The public REST API, nothing else: ModelArts v2 paths, {error_code, error_msg, field} errors.
import { sha256, hmacSha256, hex } from './sha256.js';

const PROJECT_KEY = 'modelyard.project';
const SESSION_KEY = 'modelyard.session';

export class ApiError extends Error {
  constructor(status, body) {
    const msg = (body && body.error_msg) || `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.code = (body && body.error_code) || `HTTP${status}`;
    this.field = (body && body.field) || null;
    this.body = body;
  }

  // A missing endpoint (not a missing record): the feature is not in this server.
  get missingEndpoint() {
    return this.status === 404 && /^no such endpoint/.test(this.message);
  }
}

export function project() {
  return localStorage.getItem(PROJECT_KEY) || 'default';
}

export function setProject(p) {
  localStorage.setItem(PROJECT_KEY, p || 'default');
}

export function v2(path) {
  return `/v2/${encodeURIComponent(project())}${path}`;
}

// --------------------------------------------------------------- sessions (keyed servers)
// The secret key never reaches web storage: signing in signs ONE request (POST /v3/auth/tokens)
// with the AK/SK held in memory, then forgets them; the session token the server issues is
// what this tab keeps (sessionStorage) and sends as X-Auth-Token. Signing out revokes it.
export const auth = { mode: 'local', role: 'owner' };

export function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null'); } catch { return null; }
}

export async function signIn(ak, sk) {
  const url = '/v3/auth/tokens';
  const headers = signHeaders('POST', url, {}, '', { ak, sk }, sdkDate());
  const resp = await fetch(url, { method: 'POST', headers });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(resp.status, body);
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({
    token: body.token, user: body.user, expires_at: body.expires_at }));
  return body;
}

export async function signOut() {
  const s = session();
  sessionStorage.removeItem(SESSION_KEY);
  if (s) await fetch('/v3/auth/tokens', { method: 'DELETE', headers: { 'X-Auth-Token': s.token } }).catch(() => null);
}

// The caller's role in the current project (viewer, member, owner), for hiding what it
// may not do; the server checks every request anyway.
export async function loadRole() {
  try {
    const me = await get('/v3/auth/projects');
    const mine = (me.projects || []).find((p) => p.id === project());
    auth.role = me.is_admin ? 'owner' : (mine ? mine.role : null);
    auth.user = me.user;
  } catch { auth.role = null; }
  return auth.role;
}

export function canChange() {
  return auth.role === 'member' || auth.role === 'owner';
}

const q = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalUri(path) {
  const uri = path.split('/').map((seg) => q(decodeURIComponent(seg))).join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function canonicalQuery(search) {
  const pairs = [];
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const name = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    const value = decodeURIComponent(i < 0 ? '' : part.slice(i + 1));
    pairs.push([name, value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${q(k)}=${q(v)}`).join('&');
}

function sdkDate() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

function sign(method, url, headers) {
  const s = session();
  return s ? { ...headers, 'X-Auth-Token': s.token } : headers;
}

// SDK-HMAC-SHA256, as huaweicloudsdkcore signs (see modelyard/auth.py): the given headers
// plus X-Sdk-Date and Authorization, with Host signed. Used to sign in (and by tests).
export function signHeaders(method, url, headers, body, keys, date) {
  const u = new URL(url, window.location.origin);
  const out = { ...headers, 'X-Sdk-Date': date };
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    out['X-Sdk-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
    payload = 'UNSIGNED-PAYLOAD';
  } else {
    payload = hex(sha256(body || ''));
  }
  const lower = {};
  for (const [k, v] of Object.entries(out)) lower[k.toLowerCase()] = String(v).trim();
  lower.host = u.host; // signed, as the server requires; the browser sends it itself
  const signed = Object.keys(lower).filter((k) => !k.includes('_')).sort();
  const canonical = [method.toUpperCase(), canonicalUri(u.pathname), canonicalQuery(u.search),
    signed.map((k) => `${k}:${lower[k]}\n`).join(''), signed.join(';'), payload].join('\n');
  const toSign = `SDK-HMAC-SHA256\n${lower['x-sdk-date']}\n${hex(sha256(canonical))}`;
  const sig = hex(hmacSha256(keys.sk, toSign));
  out.Authorization = `SDK-HMAC-SHA256 Access=${keys.ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return out;
}

// --------------------------------------------------------------- requests
function withQuery(path, query) {
  if (!query) return path;
  const parts = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

export async function raw(method, path, { query, json, body, headers = {}, signal } = {}) {
  const url = withQuery(path, query);
  let payload = body;
  const hdrs = { ...headers };
  if (json !== undefined) {
    payload = JSON.stringify(json);
    hdrs['Content-Type'] = 'application/json';
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers: sign(method, url, hdrs), body: payload, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { error_code: 'ModelYard.Unreachable', error_msg: 'unreachable' });
  }
  if (!resp.ok) {
    let errBody = null;
    try { errBody = await resp.json(); } catch { errBody = null; }
    if (resp.status === 401 && typeof window !== 'undefined') {
      window.dispatchEvent(new CustomEvent('modelyard:unauthorized', { detail: errBody }));
    }
    throw new ApiError(resp.status, errBody);
  }
  return resp;
}

export async function request(method, path, opts = {}) {
  const resp = await raw(method, path, opts);
  if (resp.status === 202 || resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, query, opts = {}) => request('GET', path, { ...opts, query });
export const post = (path, json, opts = {}) => request('POST', path, { ...opts, json });
export const put = (path, json) => request('PUT', path, { json });
export const del = (path) => request('DELETE', path);

// Follows a text stream (the job log); onChunk(text) per piece. Resolves when it ends.
export async function stream(path, query, onChunk, signal) {
  const resp = await raw('GET', path, { query, signal });
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onChunk(dec.decode(value, { stream: true }));
  }
  const rest = dec.decode();
  if (rest) onChunk(rest);
}

// Downloads with a session token need fetch + blob; without keys a plain link is enough.
export async function download(path, query, filename) {
  const url = withQuery(path, query);
  if (!session()) {
    const a = document.createElement('a');
    a.href = url; a.download = filename || '';
    document.body.appendChild(a); a.click(); a.remove();
    return;
  }
  const resp = await raw('GET', path, { query });
  const blob = await resp.blob();
  const obj = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = obj; a.download = filename || 'download';
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(obj), 10000);
}

export function storageUrl(url) {
  return withQuery(v2('/storage/object'), { url });
}

// Every job of the project matching filters, newest first (searches return at most 50).
export async function searchJobs({ filters = [], offset = 0, limit = 20, sort_by = 'create_time', order = 'desc' } = {}) {
  return post(v2('/training-job-searches'), { offset, limit, sort_by, order, filters });
}

export async function allAlgorithms() {
  const out = [];
  for (let offset = 0; ; offset += 200) {
    const page = await get(v2('/algorithms'), { offset, limit: 200 });
    out.push(...page.items);
    if (out.length >= page.total || !page.items.length) return out;
  }
}
