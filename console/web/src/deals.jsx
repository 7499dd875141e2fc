// The Deals pages (CONSOLE_CONTRACT.md "Deals"): a node's open deals with their health landmines
// and overdue follow-ups, and one deal's stage history and buying centre.
import {call, mapLimit, pageThrough} from './api.js';
import {accountNames, contact, env, nodeKind, nodeName, stageNames} from './env.js';
import {dealHash, pageHash} from './route.js';
import {enumLabel, formatDate, formatMicros, isoDate} from './format.js';
import {Breadcrumb} from './forecast.jsx';
import {Badge, Card, Empty, MoneyTd, Page, GridTable, fmtMoney, moneyAttrs, useLoad} from './ui.jsx';

const PAGE_SIZE = 100;  // one page of deals; each costs a GetDealHealth call

const SEVERITY_KIND = {SEVERITY_HIGH: 'red', SEVERITY_MEDIUM: 'amber', SEVERITY_LOW: 'grey'};

async function loadDeals({node}) {
  const [list, overdue] = await Promise.all([
    call('PipelineService', 'ListOpportunities', {ownerIds: [node], status: 'OPPORTUNITY_STATUS_OPEN', pageSize: PAGE_SIZE}),
    pageThrough('PipelineService', 'ListOverdueFollowUps', {ownerIds: [node]}, 'followUps'),
  ]);
  const opps = list.opportunities || [];
  const [health, accounts] = await Promise.all([
    mapLimit(opps, 6, (o) => call('PipelineService', 'GetDealHealth', {opportunityId: o.id})),
    accountNames(opps.map((o) => o.accountId)),
  ]);
  const overdueByOpp = new Map();
  for (const f of overdue.items) overdueByOpp.set(f.opportunityId, (overdueByOpp.get(f.opportunityId) || 0) + 1);
  return {opps, health, accounts, overdueByOpp, more: !!list.nextPageToken};
}

function Landmines({warnings}) {
  if (!warnings || !warnings.length) return <Badge kind="green">healthy</Badge>;
  return (
    <span class="badges">
      {warnings.map((w, i) => (
        <Badge kind={SEVERITY_KIND[w.severity] || 'grey'} data-testid="landmine" data-code={w.code} key={w.code + i}
          title={w.detail || ''}>{enumLabel(w.code, 'WARNING_CODE_')}</Badge>
      ))}
    </span>
  );
}

export function DealsPage({route}) {
  const state = useLoad(() => loadDeals(route));
  return (
    <Page testid="deals-page" state={state} title={nodeName(route.node)} kind={nodeKind(route.node)}
      attrs={{'data-node-id': route.node}}
      subtitle={<Breadcrumb route={route} page="deals" />}>
      {({opps, health, accounts, overdueByOpp, more}) => (
        <Card title="Open deals" right={<span class="muted">{opps.length}{more ? '+' : ''} open</span>}>
          <GridTable testid="deals">
            <thead>
              <tr><th>Deal</th><th>Account</th><th>Stage</th><th class="num">Amount</th><th>Close date</th>
                <th>Health</th><th>Follow-up</th></tr>
            </thead>
            <tbody>
              {opps.map((o, i) => (
                <tr data-testid="deal-row" data-opp-id={o.id} key={o.id}>
                  <td class="name"><a data-testid="deal-link" href={dealHash(o.id)}>{o.name || o.id}</a></td>
                  <td data-field="account">{accounts.get(o.accountId) || o.accountId}</td>
                  <td><span class="pill" data-field="stage">{o.stageKey}</span></td>
                  <MoneyTd field="amount" money={o.amount} />
                  <td class="nowrap" data-field="close-date">{isoDate(o.expectedCloseDate)}</td>
                  <td><Landmines warnings={health[i].warnings} /></td>
                  <td>{overdueByOpp.get(o.id)
                    ? <Badge kind="red" data-testid="overdue">{overdueByOpp.get(o.id)} overdue</Badge> : null}</td>
                </tr>
              ))}
            </tbody>
          </GridTable>
          {opps.length === 0 && <Empty>No open deals in this node.</Empty>}
          {more && <div class="note">Showing the first {PAGE_SIZE} open deals.</div>}
        </Card>
      )}
    </Page>
  );
}

async function loadDeal({oppId}) {
  const [opp, history, roles, health] = await Promise.all([
    call('PipelineService', 'GetOpportunity', {id: oppId}),
    call('PipelineService', 'GetOpportunityHistory', {opportunityId: oppId}),
    call('PipelineService', 'ListContactRoles', {opportunityId: oppId}),
    call('PipelineService', 'GetDealHealth', {opportunityId: oppId}),
  ]);
  const list = roles.roles || [];
  const [contacts, accounts, stages] = await Promise.all([
    mapLimit(list, 6, (r) => contact(r.contactId)),
    accountNames([opp.accountId]),
    stageNames(opp.stageModelId || 'buying-cycle-6'),
  ]);
  // Warnings name contacts by id; people read their names (from the buying centre's contacts).
  const names = new Map(contacts.filter(Boolean).map((c) => [c.id, c.name]));
  const warnings = (health.warnings || []).map((w) => ({...w,
    detail: String(w.detail || '').replace(/con_[0-9A-Za-z]+/g, (id) => names.get(id) || id)}));
  return {opp, changes: history.changes || [], roles: list, contacts, account: accounts.get(opp.accountId), stages,
    warnings};
}

const ATTITUDE_KIND = {ATTITUDE_A: 'green', ATTITUDE_B_PLUS: 'green', ATTITUDE_B: 'green', ATTITUDE_C: 'grey',
  ATTITUDE_D: 'amber', ATTITUDE_E: 'red'};

function attitudeLabel(a) {
  return a && a !== 'ATTITUDE_UNSPECIFIED' ? String(a).replace('ATTITUDE_', '').replace('_PLUS', '+') : 'unknown';
}

function History({changes, stages}) {
  const stageKinds = ['CHANGE_KIND_CREATED', 'CHANGE_KIND_STAGE_FORWARD', 'CHANGE_KIND_STAGE_BACKWARD'];
  const show = (kind, v) => (stageKinds.includes(kind) && stages.get(v) ? stages.get(v) : v);
  return (
    <GridTable testid="stage-history">
      <thead><tr><th class="num">#</th><th>When</th><th>Change</th><th>From</th><th>To</th><th>By</th><th>Reason</th></tr></thead>
      <tbody>
        {changes.map((c) => (
          <tr data-testid="history-row" data-kind={c.kind} key={c.seq}>
            <td class="num">{String(c.seq || '')}</td>
            <td class="nowrap">{formatMicros(c.timeMicros, env.locale)}</td>
            <td>{enumLabel(c.kind, 'CHANGE_KIND_')}{c.override ? <Badge kind="amber">override</Badge> : null}</td>
            <td>{show(c.kind, c.from || '')}</td>
            <td>{show(c.kind, c.to || '')}</td>
            <td>{c.by}</td>
            <td>{c.reason}</td>
          </tr>
        ))}
      </tbody>
    </GridTable>
  );
}

function BuyingCentre({roles, contacts}) {
  return (
    <GridTable testid="buying-centre">
      <thead><tr><th>Contact</th><th>Role</th><th>Attitude</th><th class="num">Influence</th><th>Core</th><th>Last visit</th></tr></thead>
      <tbody>
        {roles.map((r, i) => (
          <tr data-testid="role-row" data-contact-id={r.contactId} key={r.contactId}>
            <td class="name" data-field="contact">{contacts[i] ? contacts[i].name : r.contactId}
              {contacts[i] && contacts[i].title ? <div class="muted small">{contacts[i].title}</div> : null}</td>
            <td data-field="role" data-role={r.role}>{enumLabel(r.role, 'BUYING_ROLE_')}</td>
            <td><Badge kind={ATTITUDE_KIND[r.attitude] || 'grey'} data-field="attitude" data-attitude={r.attitude || 'ATTITUDE_UNSPECIFIED'}>
              {attitudeLabel(r.attitude)}</Badge></td>
            <td class="num">{r.influenceWeightPct ? r.influenceWeightPct + '%' : ''}</td>
            <td>{r.isCore ? 'core' : ''}</td>
            <td class="nowrap">{formatMicros(r.lastVisitMicros, env.locale) || <span class="muted">never</span>}</td>
          </tr>
        ))}
      </tbody>
    </GridTable>
  );
}

export function DealPage({route, ctx}) {
  const state = useLoad(() => loadDeal(route));
  const opp = state.status === 'ready' ? state.data.opp : null;
  return (
    <Page testid="deal-detail" state={state} attrs={{'data-opp-id': route.oppId}} title={opp ? opp.name : 'Deal'}
      subtitle={<a href={pageHash('deals', ctx)} class="back">← Open deals of {nodeName(ctx.node)}</a>}>
      {({opp, changes, roles, contacts, account, stages, warnings}) => (
        <>
          <Card title="Deal">
            <dl class="facts">
              <div><dt>Account</dt><dd>{account || opp.accountId}</dd></div>
              <div><dt>Owner</dt><dd>{nodeName(opp.ownerNodeId)}</dd></div>
              <div><dt>Stage</dt><dd><span class="pill" data-field="stage">{opp.stageKey}</span> {stages.get(opp.stageKey) || ''}</dd></div>
              <div><dt>Amount</dt><dd class="num" {...moneyAttrs('amount', opp.amount)}>{fmtMoney(opp.amount)}</dd></div>
              <div><dt>Expected close</dt><dd data-field="close-date">{formatDate(opp.expectedCloseDate, env.locale)}</dd></div>
              <div><dt>Status</dt><dd>{enumLabel(opp.status, 'OPPORTUNITY_STATUS_')}</dd></div>
            </dl>
            {warnings.length > 0 && (
              <ul class="warnings">
                {warnings.map((w, i) => (
                  <li key={w.code + i}><Badge kind={SEVERITY_KIND[w.severity] || 'grey'} data-testid="landmine" data-code={w.code}>
                    {enumLabel(w.code, 'WARNING_CODE_')}</Badge> {w.detail}</li>
                ))}
              </ul>
            )}
          </Card>
          <Card title="Stage history">
            <History changes={changes} stages={stages} />
            {changes.length === 0 && <Empty>No history.</Empty>}
          </Card>
          <Card title="Buying centre">
            <BuyingCentre roles={roles} contacts={contacts} />
            {roles.length === 0 && <Empty>No contact roles recorded.</Empty>}
          </Card>
        </>
      )}
    </Page>
  );
}
