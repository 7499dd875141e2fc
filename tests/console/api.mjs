// Connect JSON over HTTP (docs/API.md §4c) with fetch: the tests' own view of the API, which the
// console's pages are compared against. Every call is bounded (AbortSignal.timeout).

// POST <base>/salesops.v1.<service>/<method> with `body` (JSON) and the bearer token; resolves to
// the parsed response, rejects with an Error carrying .status and .code (the Connect error code)
// on a non-2xx answer.
export async function call(base, service, method, body, token, timeoutMs = 10000) {
  const headers = {'Content-Type': 'application/json'};
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/salesops.v1.${service}/${method}`, {
    method: 'POST', headers, body: JSON.stringify(body ?? {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {raw: text};
  }
  if (!res.ok) {
    const err = new Error(`${service}/${method}: HTTP ${res.status} ${json.code ?? ''} ${json.message ?? text}`);
    err.status = res.status;
    err.code = json.code;
    throw err;
  }
  return json;
}

// Every org node (ListOrgNodes, pages of 1000, at most 100 pages).
export async function listOrgNodes(base, token) {
  const nodes = [];
  let pageToken = '';
  for (let page = 0; page < 100; ++page) {
    const r = await call(base, 'AccountsService', 'ListOrgNodes', {pageSize: 1000, pageToken}, token);
    nodes.push(...(r.nodes ?? []));
    pageToken = r.nextPageToken ?? '';
    if (!pageToken) return nodes;
  }
  throw new Error('ListOrgNodes: more than 100 pages');
}

// The path from the root (the node without a parent) down to `id`, as OrgNode objects.
export function pathTo(nodes, id) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const path = [];
  for (let n = byId.get(id); n; n = n.parentId ? byId.get(n.parentId) : undefined) {
    path.unshift(n);
    if (path.length > nodes.length) throw new Error('org node cycle');
  }
  return path;
}

export function getForecast(base, token, nodeId, fy, fq) {
  return call(base, 'ForecastService', 'GetForecast',
      {nodeId, fiscalYear: fy, fiscalQuarter: fq}, token);
}

// A Money's unitsMinor as an integer string ('0' when absent), as the console's data-minor.
export function minor(money) {
  return String(money?.unitsMinor ?? '0');
}

// Retries `probe` (an async function returning a truthy value when done) every `everyMs` until
// it succeeds or `ms` have passed; then throws with the last error or value described. An
// error with .fatal set ends the wait at once.
export async function waitFor(what, ms, probe, everyMs = 200) {
  const deadline = Date.now() + ms;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
      last = 'not yet';
    } catch (e) {
      if (e.fatal) throw e;  // no point waiting longer (e.g. the process exited)
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
}
