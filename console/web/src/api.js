// The console's only way to the suite: Connect unary calls (POST /salesops.v1.<Service>/<Method>,
// JSON body, proto3 JSON answer) on the page's own origin, which salesops-console proxies to the
// service (CONSOLE_CONTRACT.md "Serving"). Every call carries the bearer token and a 10 s
// Connect-Timeout-Ms; a failure rejects with an ApiError {code, message} in Connect's codes
// ("unauthenticated", "permission_denied", "unavailable", ...).

const TIMEOUT_MS = 10000;
const TOKEN_KEY = 'salesops.token';

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// The token lives in sessionStorage under "salesops.token"; "" is a valid token (--auth=none
// suites), null means signed out.
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

let onUnauthenticated = () => {};

// The app's handler for an unauthenticated answer to any call made with the stored token
// (clears the token and shows sign-in); sign-in's own call passes its token explicitly instead.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

// Maps an HTTP status without a Connect body to a Connect code (Connect protocol's table).
function codeForStatus(status) {
  return (
    {400: 'invalid_argument', 401: 'unauthenticated', 403: 'permission_denied', 404: 'unimplemented',
      408: 'deadline_exceeded', 409: 'aborted', 429: 'unavailable', 502: 'unavailable',
      503: 'unavailable', 504: 'unavailable'}[status] || 'unknown'
  );
}

// One unary call with the stored token, or with `opts.token` (sign-in: then an unauthenticated
// answer only rejects, it does not sign out). Resolves to the answer's JSON object.
export async function call(service, method, body = {}, opts = {}) {
  const explicit = opts.token !== undefined;
  const token = explicit ? opts.token : getToken();
  const headers = {'Content-Type': 'application/json', 'Connect-Timeout-Ms': String(TIMEOUT_MS)};
  if (token) headers.Authorization = 'Bearer ' + token;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS + 2000);
  let res;
  let text;
  try {
    res = await fetch('/salesops.v1.' + service + '/' + method, {
      method: 'POST', headers, body: JSON.stringify(body), signal: ctrl.signal,
    });
    text = await res.text();
  } catch (e) {
    throw new ApiError(ctrl.signal.aborted ? 'deadline_exceeded' : 'unavailable',
      service + '.' + method + ': ' + (e && e.message ? e.message : 'network error'));
  } finally {
    clearTimeout(timer);
  }
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  if (res.ok && json) return json;
  const code = (json && json.code) || codeForStatus(res.status);
  const message = (json && json.message) || 'HTTP ' + res.status + ' from ' + service + '.' + method;
  const err = new ApiError(code, message);
  if (code === 'unauthenticated' && !explicit) onUnauthenticated(err);
  throw err;
}

// Pages through a list method (AIP-158 page_size/page_token) and concatenates `field` of every
// page; stops after `maxPages` pages (then `truncated` is true). Resolves to {items, truncated}.
export async function pageThrough(service, method, body, field, {pageSize = 1000, maxPages = 50} = {}) {
  const items = [];
  let pageToken = '';
  for (let page = 0; page < maxPages; page++) {
    const res = await call(service, method, {...body, pageSize, pageToken});
    items.push(...(res[field] || []));
    pageToken = res.nextPageToken || '';
    if (!pageToken) return {items, truncated: false};
  }
  return {items, truncated: true};
}

// Runs fn over items with at most `limit` calls in flight; resolves to the results in order.
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return out;
}
