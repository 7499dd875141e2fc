// The Deals page (issue 22, "Deals"): a node's open deals with their landmines and overdue
// follow-ups, and one deal's stage history and buying centre, each compared with the API that
// the page reads (Connect JSON through the console's origin, the same token).
import {minor} from './api.mjs';
import {newPage, open, presetToken, waitReady} from './browser.mjs';
import {check} from './expect.mjs';

const sorted = (xs) => [...xs].sort();
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

// Li Na's open deals (one page: the seed has 18) and, per deal, GetDealHealth's warning codes.
async function openDeals(ctx) {
  const list = await ctx.api('PipelineService', 'ListOpportunities',
      {ownerIds: [ctx.state.nodes.lina], status: 'OPPORTUNITY_STATUS_OPEN', pageSize: 100});
  const opps = list.opportunities ?? [];
  check(opps.length > 0 && !list.nextPageToken, `Li Na has ${opps.length} open deals (one page expected)`);
  const health = await Promise.all(opps.map((o) =>
    ctx.api('PipelineService', 'GetDealHealth', {opportunityId: o.id})));
  return opps.map((o, i) => ({opp: o, codes: (health[i].warnings ?? []).map((w) => w.code)}));
}

// The first of the opportunity ids `ids` with a buying centre, and its roles (ListContactRoles).
export async function firstWithRoles(ctx, ids) {
  for (const id of ids) {
    const roles = (await ctx.api('PipelineService', 'ListContactRoles', {opportunityId: id})).roles ?? [];
    if (roles.length > 0) return {id, roles};
  }
  throw new Error('no open deal of Li Na has a buying centre (the demo sets four)');
}

// The first of `deals` with a buying centre, with its roles and its history.
async function dealWithRoles(ctx, deals) {
  const {id, roles} = await firstWithRoles(ctx, deals.map((d) => d.opp.id));
  const {opp, codes} = deals.find((d) => d.opp.id === id);
  const history = await ctx.api('PipelineService', 'GetOpportunityHistory', {opportunityId: id});
  return {opp, codes, roles, changes: history.changes ?? []};
}

async function checkList(ctx, page, deals) {
  const overdue = await ctx.api('PipelineService', 'ListOverdueFollowUps',
      {ownerIds: [ctx.state.nodes.lina], pageSize: 1000});
  const late = new Set((overdue.followUps ?? []).map((f) => f.opportunityId));
  check(late.size > 0, 'ListOverdueFollowUps lists none, though the case planned one in the past');
  const rows = await page.$$eval('tr[data-testid=deal-row]', (trs) => trs.map((tr) => ({
    id: tr.getAttribute('data-opp-id'),
    amount: tr.querySelector('[data-field=amount]')?.getAttribute('data-minor'),
    codes: [...tr.querySelectorAll('[data-testid=landmine]')].map((b) => b.getAttribute('data-code')),
    overdue: tr.querySelector('[data-testid=overdue]') !== null,
  })));
  check(same(rows.map((r) => r.id), deals.map((d) => d.opp.id)),
      `deal rows ${rows.length} differ from ListOpportunities' ${deals.length} open deals`);
  const byId = new Map(deals.map((d) => [d.opp.id, d]));
  for (const r of rows) {
    const d = byId.get(r.id);
    check(r.amount === minor(d.opp.amount), `${r.id}: amount ${r.amount}, API ${minor(d.opp.amount)}`);
    check(same(r.codes, d.codes), `${r.id}: landmines ${r.codes}, GetDealHealth ${d.codes}`);
    check(r.overdue === late.has(r.id), `${r.id}: overdue badge ${r.overdue}, ListOverdueFollowUps ${late.has(r.id)}`);
  }
  console.log(`deals: ${rows.length} rows, ${rows.filter((r) => r.codes.length).length} with landmines, ` +
      `${late.size} with overdue follow-ups`);
}

async function checkDetail(page, want) {
  const roles = await page.$$eval('table[data-testid=buying-centre] tr[data-testid=role-row]', (trs) =>
    trs.map((tr) => ({
      contact: tr.getAttribute('data-contact-id'),
      role: tr.querySelector('[data-role]')?.getAttribute('data-role'),
      attitude: tr.querySelector('[data-attitude]')?.getAttribute('data-attitude'),
    })));
  const exp = want.roles.map((r) => ({
    contact: r.contactId, role: r.role, attitude: r.attitude ?? 'ATTITUDE_UNSPECIFIED'}));
  const key = (r) => `${r.contact}/${r.role}/${r.attitude}`;
  check(same(roles.map(key), exp.map(key)),
      `buying centre ${JSON.stringify(roles)} differs from ListContactRoles ${JSON.stringify(exp)}`);
  const history = await page.$$eval('table[data-testid=stage-history] tr[data-testid=history-row]', (t) => t.length);
  check(history === want.changes.length, `stage history: ${history} rows, API ${want.changes.length} changes`);
  const codes = await page.$$eval('[data-testid=deal-detail] [data-testid=landmine]',
      (bs) => bs.map((b) => b.getAttribute('data-code')));
  check(same(codes, want.codes), `deal landmines ${codes}, GetDealHealth ${want.codes}`);
  console.log(`deal ${want.opp.id}: ${roles.length} roles, ${history} history rows, ${codes.length} landmines`);
}

// Makes one follow-up of `opp` overdue: a call ten days ago planning the next call five days ago
// (the demo's own follow-ups are all due later). Idempotent by its request_id.
async function planOverdueFollowUp(ctx, opp) {
  const day = 86400n * 1000000n;
  const now = BigInt(Date.now()) * 1000n;
  await ctx.api('PipelineService', 'RecordActivity', {
    requestId: `console-test-overdue-${opp.id}`,
    activity: {
      opportunityId: opp.id, kind: 'ACTIVITY_KIND_CALL', outcome: 'ACTIVITY_OUTCOME_CONTINUATION',
      timeMicros: String(now - 10n * day), notes: 'browser test: a follow-up left overdue',
      planFollowUp: {kind: 'ACTIVITY_KIND_CALL', text: 'call back', dueMicros: String(now - 5n * day)},
    },
  });
}

// Li Na's deals page equals the API row by row; the detail of a deal with a buying centre
// shows its roles and attitudes, its stage history and its landmines.
export async function deals(ctx) {
  let all = await openDeals(ctx);
  await planOverdueFollowUp(ctx, all[0].opp);
  all = await openDeals(ctx);  // the activity may change the deal's health
  const page = ctx.track(await newPage(ctx.browser));
  await presetToken(page, ctx.state.tokens.admin);
  await open(page, ctx.url, `#/deals?node=${ctx.state.nodes.lina}`);
  await waitReady(page, 'deals-page', 'tr[data-testid=deal-row]');
  await checkList(ctx, page, all);
  const want = await dealWithRoles(ctx, all);
  await page.click(`tr[data-testid=deal-row][data-opp-id="${want.opp.id}"] a[data-testid=deal-link]`);
  await waitReady(page, 'deal-detail', 'table[data-testid=buying-centre] tr[data-testid=role-row]');
  await checkDetail(page, want);
}
