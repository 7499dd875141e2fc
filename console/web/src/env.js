// The session's shared, read-mostly state: the instance locale (GET /config.json), the caller
// (CallerService.GetCaller), the org tree (AccountsService.ListOrgNodes, every page) and caches of
// names the pages look up (accounts, contacts, stage models). Reset on sign-out.
import {call, pageThrough} from './api.js';

export const env = {
  locale: 'en-US',
  caller: null,        // {name, role, orgNodeId}
  nodes: new Map(),    // id -> OrgNode
  children: new Map(), // id -> [child ids] in list order
  root: '',            // the node without a parent
  startNode: '',       // the caller's node, or the root
  // Settles when `nodes` is loaded (loadOrg); pages await it next to their own calls, so the org
  // tree and a page's data load in parallel.
  orgReady: Promise.resolve(),
  configReady: Promise.resolve(),  // settles when `locale` is loaded (loadConfig)
};

const caches = {accounts: new Map(), contacts: new Map(), models: new Map()};

export function resetSession() {
  env.caller = null;
  env.nodes = new Map();
  env.children = new Map();
  env.root = '';
  env.startNode = '';
  env.orgReady = Promise.resolve();
  for (const c of Object.values(caches)) c.clear();
}

// Loads the instance locale (env.configReady); keeps "en-US" when the file is missing or malformed.
export function loadConfig() {
  env.configReady = fetchConfig();
  return env.configReady;
}

async function fetchConfig() {
  try {
    const res = await fetch('/config.json', {headers: {Accept: 'application/json'}});
    if (!res.ok) return;
    const cfg = await res.json();
    if (cfg && typeof cfg.locale === 'string' && cfg.locale) {
      new Intl.NumberFormat(cfg.locale);  // throws on an invalid tag: keep the default then
      env.locale = cfg.locale;
    }
  } catch {
    // the default locale stays
  }
}

// Loads every org node (pageSize 1000, at most 50 pages) and derives the root and start node.
export async function loadOrg() {
  const {items} = await pageThrough('AccountsService', 'ListOrgNodes', {}, 'nodes');
  env.nodes = new Map(items.map((n) => [n.id, n]));
  env.children = new Map();
  for (const n of items) {
    if (!n.parentId) {
      if (!env.root) env.root = n.id;
      continue;
    }
    if (!env.children.has(n.parentId)) env.children.set(n.parentId, []);
    env.children.get(n.parentId).push(n.id);
  }
  const own = env.caller && env.caller.orgNodeId;
  env.startNode = own || env.root;
}

// Starts loading the org tree (env.orgReady) and the default stage model's names, without
// waiting for either.
export function startOrgLoad() {
  env.orgReady = loadOrg();
  env.orgReady.catch(() => {});  // a page awaiting it reports the failure
  stageNames('buying-cycle-6');
  return env.orgReady;
}

// "ORG_NODE_KIND_REP" -> "Rep": the kind of a node for people ("" when unknown).
export function nodeKind(id) {
  const n = env.nodes.get(id);
  const k = n && n.kind ? String(n.kind).replace('ORG_NODE_KIND_', '').toLowerCase() : '';
  return k && k !== 'unspecified' ? k.charAt(0).toUpperCase() + k.slice(1) : '';
}

export function nodeName(id) {
  const n = env.nodes.get(id);
  return n ? n.name : id;
}

// The path from the start node down to `id` (ids); from the root when `id` is not below the
// start node; just [id] when its ancestry is unknown.
export function pathTo(id) {
  const path = [];
  let cur = id;
  for (let guard = 0; cur && guard < 100; guard++) {
    path.unshift(cur);
    if (cur === env.startNode) return path;
    const n = env.nodes.get(cur);
    cur = n ? n.parentId : '';
  }
  return path.length ? path : [id];
}

function cached(map, key, load) {
  if (!map.has(key)) {
    map.set(key, load().catch((e) => {
      map.delete(key);
      throw e;
    }));
  }
  return map.get(key);
}

// An account's name (its id when it cannot be read).
export function accountName(id) {
  if (!id) return Promise.resolve('');
  return cached(caches.accounts, id, () => call('AccountsService', 'GetAccount', {id}).then((a) => a.name || id))
    .catch(() => id);
}

// Names of several accounts: resolves to a Map id -> name.
export async function accountNames(ids) {
  const unique = [...new Set(ids.filter(Boolean))];
  const names = await Promise.all(unique.map(accountName));
  return new Map(unique.map((id, i) => [id, names[i]]));
}

// A contact (null when it cannot be read).
export function contact(id) {
  return cached(caches.contacts, id, () => call('AccountsService', 'GetContact', {id})).catch(() => null);
}

// A stage model's stages by key -> display name; an empty Map when it cannot be read.
export function stageNames(modelId) {
  return cached(caches.models, modelId, () => call('PipelineService', 'GetStageModel', {id: modelId})
    .then((m) => new Map((m.stages || []).map((s) => [s.key, s.name || s.key]))))
    .catch(() => new Map());
}

// "Interest (customer analysis)" -> "Interest": the short label charts use.
export function shortStage(name) {
  return String(name).replace(/\s*\(.*\)\s*$/, '');
}
