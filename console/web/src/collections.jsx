// The Collections page (CONSOLE_CONTRACT.md "Collections"): the node's aging buckets as a bar
// chart and a table, the collection worklist, and the promises to pay of the accounts involved.
import {call, mapLimit, pageThrough} from './api.js';
import {accountNames, env, nodeKind, nodeName} from './env.js';
import {enumLabel, formatDate} from './format.js';
import {AgingChart} from './charts.jsx';
import {Breadcrumb} from './forecast.jsx';
import {Badge, Card, Empty, MoneyTd, Page, GridTable, useLoad} from './ui.jsx';

// AgingBuckets' buckets in proto field order, by JSON name (total is their sum, not a bucket).
export const BUCKETS = [
  ['notDue', 'Not due', 'Not due'],
  ['days130', '1–30 days overdue', '1–30'],
  ['days3160', '31–60 days overdue', '31–60'],
  ['days6190', '61–90 days overdue', '61–90'],
  ['days91180', '91–180 days overdue', '91–180'],
  ['over180', 'Over 180 days overdue', '180+'],
];

const PROMISE_KIND = {PROMISE_STATE_KEPT: 'green', PROMISE_STATE_PARTIALLY_KEPT: 'amber', PROMISE_STATE_BROKEN: 'red',
  PROMISE_STATE_PENDING: 'blue'};
const RISK_KIND = {RISK_CLASS_HIGH: 'red', RISK_CLASS_MEDIUM: 'amber', RISK_CLASS_LOW: 'green'};

async function loadCollections({node}) {
  const [aging, worklist] = await Promise.all([
    call('CreditService', 'GetAging', {orgNodeId: node}),
    pageThrough('CreditService', 'GetWorklist', {orgNodeId: node}, 'items'),
  ]);
  const accountIds = [...new Set([...(aging.accounts || []).map((a) => a.accountId),
    ...worklist.items.map((i) => i.accountId)].filter(Boolean))];
  const [promiseLists, names] = await Promise.all([
    mapLimit(accountIds, 6, (id) => pageThrough('CreditService', 'ListPromises', {accountId: id}, 'promises')),
    accountNames(accountIds),
  ]);
  const promises = promiseLists.flatMap((l) => l.items);
  return {aging, worklist: worklist.items, promises, names};
}

function AgingTable({total, currency}) {
  return (
    <GridTable testid="aging-table">
      <thead><tr><th>Bucket</th><th class="num">Open</th></tr></thead>
      <tbody>
        {BUCKETS.map(([name, label]) => (
          <tr data-bucket={name} key={name}>
            <td>{label}</td>
            <MoneyTd field="amount" money={total[name]} currency={currency} />
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr data-bucket="total" class="total-row">
          <td>Total</td>
          <MoneyTd field="amount" money={total.total} currency={currency} cls="strong" />
        </tr>
      </tfoot>
    </GridTable>
  );
}

function Worklist({items, names}) {
  return (
    <GridTable testid="worklist">
      <thead>
        <tr><th>Account</th><th>Invoice</th><th class="num">Open</th><th>Due</th><th class="num">Days overdue</th>
          <th>Risk</th><th>Next step</th></tr>
      </thead>
      <tbody>
        {items.map((it) => {
          const r = it.receivable || {};
          return (
            <tr data-testid="worklist-row" data-receivable-id={r.id} key={r.id}>
              <td class="name">{names.get(it.accountId) || it.accountId}</td>
              <td class="nowrap">{r.externalId || r.id}</td>
              <MoneyTd field="open" money={r.open} />
              <td class="nowrap">{formatDate(r.dueDate, env.locale)}</td>
              <td class="num" data-field="days-overdue">{it.daysOverdue || 0}</td>
              <td><Badge kind={RISK_KIND[it.riskClass] || 'grey'}>{enumLabel(it.riskClass, 'RISK_CLASS_')}</Badge></td>
              <td>{enumLabel(it.nextDunningStep, 'DUNNING_STEP_') || <span class="muted">—</span>}
                {it.nextDunningDate ? <span class="muted"> · {formatDate(it.nextDunningDate, env.locale)}</span> : null}</td>
            </tr>
          );
        })}
      </tbody>
    </GridTable>
  );
}

function Promises({promises, names}) {
  return (
    <GridTable testid="promises">
      <thead>
        <tr><th>Account</th><th class="num">Promised</th><th>By date</th><th>State</th><th class="num">Paid</th><th>Made</th></tr>
      </thead>
      <tbody>
        {promises.map((p) => (
          <tr data-testid="promise-row" data-state={p.state || 'PROMISE_STATE_UNSPECIFIED'} key={p.id}>
            <td class="name">{names.get(p.accountId) || p.accountId}</td>
            <MoneyTd field="amount" money={p.amount} />
            <td class="nowrap">{formatDate(p.promisedDate, env.locale)}</td>
            <td><Badge kind={PROMISE_KIND[p.state] || 'grey'}>{enumLabel(p.state, 'PROMISE_STATE_')}</Badge></td>
            <MoneyTd field="paid" money={p.paid} currency={p.amount && p.amount.currency} />
            <td class="nowrap">{formatDate(p.madeDate, env.locale)}</td>
          </tr>
        ))}
      </tbody>
    </GridTable>
  );
}

export function CollectionsPage({route}) {
  const state = useLoad(() => loadCollections(route));
  return (
    <Page testid="collections-page" state={state} title={nodeName(route.node)} kind={nodeKind(route.node)}
      attrs={{'data-node-id': route.node}}
      subtitle={<Breadcrumb route={route} page="collections" />}>
      {({aging, worklist, promises, names}) => {
        const total = aging.total || {};
        const currency = (total.total && total.total.currency) || '';
        return (
          <>
            <Card title="Aging" right={<span class="muted">as of {formatDate(aging.asOf, env.locale)}</span>}>
              <div class="aging-layout">
                <AgingChart currency={currency}
                  buckets={BUCKETS.map(([name, label, short]) => ({name, label, short, money: total[name] || {currency}}))} />
                <AgingTable total={total} currency={currency} />
              </div>
              {(aging.missingRates || []).length > 0 && (
                <div class="note">Left out for lack of an exchange rate: {aging.missingRates.map((m) => m.currency).join(', ')}</div>
              )}
            </Card>
            <Card title="Worklist" right={<span class="muted">overdue items, highest priority first</span>}>
              <Worklist items={worklist} names={names} />
              {worklist.length === 0 && <Empty>Nothing overdue.</Empty>}
            </Card>
            <Card title="Promises to pay">
              <Promises promises={promises} names={names} />
              {promises.length === 0 && <Empty>No promises recorded for these accounts.</Empty>}
            </Card>
          </>
        );
      }}
    </Page>
  );
}
