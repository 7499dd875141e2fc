// Hash routes (CONSOLE_CONTRACT.md "The app"): #/sign-in, #/forecast?node=&fy=&fq=,
// #/progress?node=&fy=&fq=, #/deals?node=, #/deals/opp/<OPP_ID>, #/collections?node=.

export const PAGES = ['forecast', 'progress', 'deals', 'collections'];

// "#/forecast?node=org_1&fy=2026&fq=4" -> {page: 'forecast', node: 'org_1', fy: 2026, fq: 4};
// "#/deals/opp/opp_1" -> {page: 'deal', oppId: 'opp_1'}; anything else -> {page: ''}.
export function parseHash(hash) {
  const h = String(hash || '').replace(/^#/, '');
  const [path, query = ''] = h.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  const route = {page: '', node: params.get('node') || '', fy: 0, fq: 0, oppId: ''};
  const fy = Number(params.get('fy'));
  const fq = Number(params.get('fq'));
  if (Number.isInteger(fy) && fy >= 1 && fy <= 9999) route.fy = fy;
  if (Number.isInteger(fq) && fq >= 1 && fq <= 4) route.fq = fq;
  if (parts[0] === 'deals' && parts[1] === 'opp' && parts[2]) {
    route.page = 'deal';
    route.oppId = decodeURIComponent(parts[2]);
  } else if (parts[0] === 'sign-in') {
    route.page = 'sign-in';
  } else if (PAGES.includes(parts[0]) && parts.length === 1) {
    route.page = parts[0];
  }
  return route;
}

// The hash of `page` with the context {node, fy, fq}; deals and collections carry only the node.
export function pageHash(page, {node, fy, fq}) {
  const params = new URLSearchParams();
  if (node) params.set('node', node);
  if ((page === 'forecast' || page === 'progress') && fy && fq) {
    params.set('fy', String(fy));
    params.set('fq', String(fq));
  }
  const q = params.toString();
  return '#/' + page + (q ? '?' + q : '');
}

export function dealHash(oppId) {
  return '#/deals/opp/' + encodeURIComponent(oppId);
}
