// The Forecast page (CONSOLE_CONTRACT.md "Forecast"): the selected node's figures, its children
// (drill-down by name), and its funnel as trapezoids plus a table.
import {call} from './api.js';
import {env, nodeKind, nodeName, pathTo, stageNames, shortStage} from './env.js';
import {pageHash} from './route.js';
import {addQuarters} from './format.js';
import {Funnel} from './charts.jsx';
import {Badge, BpTd, Card, Empty, MoneyTd, Page, GridTable, coverageClass, fmtMoney, gapClass, moneyAttrs,
  useLoad} from './ui.jsx';
import {formatBp} from './format.js';

// The figures of a NodeForecast in contract order: [data-field, NodeForecast field, label].
const FIELDS = [
  ['closed', 'closed', 'Closed'],
  ['collected', 'collected', 'Collected'],
  ['weighted', 'pipelineWeighted', 'Weighted pipeline'],
  ['forecast', 'forecast', 'Forecast'],
  ['quota', 'quota', 'Quota'],
  ['gap', 'gap', 'Gap'],
];

async function loadForecast({node, fy, fq}) {
  const f = await call('ForecastService', 'GetForecast', {nodeId: node, fiscalYear: fy, fiscalQuarter: fq});
  const models = [...new Set((f.funnel || []).map((r) => r.stageModelId).filter(Boolean))];
  const names = new Map();
  for (const m of await Promise.all(models.map(stageNames))) for (const [k, v] of m) names.set(k, v);
  return {f, names};
}

// Quarter options: four back, two ahead of today's quarter, and the selected one.
function quarterOptions(sel, today) {
  const out = [];
  for (let d = -4; d <= 2; d++) out.push(addQuarters(today, d));
  if (!out.some((q) => q.fy === sel.fy && q.fq === sel.fq)) out.push(sel);
  out.sort((a, b) => a.fy * 4 + a.fq - (b.fy * 4 + b.fq));
  return out;
}

export function QuarterSelect({route, page, today}) {
  const value = `${route.fy}-${route.fq}`;
  const onChange = (e) => {
    const [fy, fq] = e.currentTarget.value.split('-').map(Number);
    location.hash = pageHash(page, {node: route.node, fy, fq});
  };
  return (
    <label class="quarter">
      <span class="muted">Quarter</span>
      <select data-testid="quarter-select" value={value} onChange={onChange}>
        {quarterOptions(route, today).map((q) => (
          <option value={`${q.fy}-${q.fq}`} key={`${q.fy}-${q.fq}`}>{`FY${q.fy} Q${q.fq}`}</option>
        ))}
      </select>
    </label>
  );
}

export function Breadcrumb({route, page}) {
  const path = pathTo(route.node);
  return (
    <nav class="breadcrumb" data-testid="breadcrumb" aria-label="Org path">
      {path.map((id, i) => (
        <span key={id}>
          {i > 0 && <span class="sep">›</span>}
          <a href={pageHash(page, {...route, node: id})} data-node-id={id}
            class={id === route.node ? 'current' : ''}>{nodeName(id)}</a>
        </span>
      ))}
    </nav>
  );
}

function Summary({n, currency}) {
  return (
    <div class="kpis">
      {FIELDS.map(([field, key, label]) => (
        <div class={'kpi' + (field === 'forecast' ? ' kpi-main' : '')} key={field}>
          <div class="kpi-label">{label}</div>
          <div class={'kpi-value ' + (field === 'gap' ? gapClass(n[key]) : '')} {...moneyAttrs(field, n[key])}>
            {fmtMoney(n[key], currency)}
          </div>
        </div>
      ))}
      <div class="kpi">
        <div class="kpi-label">Coverage</div>
        <div class={'kpi-value ' + coverageClass(n.coverageBp)} data-field="coverage" data-bp={String(n.coverageBp || 0)}>
          {formatBp(n.coverageBp, env.locale)}
        </div>
      </div>
    </div>
  );
}

function Children({f, route}) {
  const rows = f.children || [];
  if (!rows.length) return <Empty>No child nodes: this is a rep's own forecast.</Empty>;
  return (
    <GridTable testid="children">
      <thead>
        <tr>
          <th>Node</th>
          {FIELDS.map(([field, , label]) => <th class="num" key={field}>{label}</th>)}
          <th class="num">Coverage</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => (
          <tr data-testid="child-row" data-node-id={c.nodeId} key={c.nodeId}>
            <td data-field="name" class="name">
              <a data-testid="drill" href={pageHash('forecast', {...route, node: c.nodeId})}>{nodeName(c.nodeId)}</a>
            </td>
            {FIELDS.map(([field, key]) => (
              <MoneyTd key={field} field={field} money={c[key]} currency={f.currency}
                cls={field === 'gap' ? gapClass(c[key]) : field === 'forecast' ? 'strong' : ''} />
            ))}
            <BpTd field="coverage" bp={c.coverageBp} cls={coverageClass(c.coverageBp)} />
            <td>{c.needsMorePipeline && <Badge kind="red" data-testid="needs-pipeline">Needs pipeline</Badge>}</td>
          </tr>
        ))}
      </tbody>
    </GridTable>
  );
}

function FunnelCard({f, names}) {
  const rows = f.funnel || [];
  if (!rows.length) return <Card title="Funnel"><Empty>No open opportunities in this quarter.</Empty></Card>;
  const label = (key) => shortStage(names.get(key) || key);
  return (
    <Card title="Funnel" right={<span class="muted">open opportunities by stage</span>} cls="funnel-card">
      <div class="funnel-layout">
        <Funnel rows={rows.map((r) => ({key: r.stageKey, label: label(r.stageKey), count: r.count || '0'}))} />
        <GridTable testid="funnel-table">
          <thead>
            <tr><th>Stage</th><th class="num">Deals</th><th class="num">Amount</th><th class="num">Weighted</th>
              <th class="num">Win rate</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-stage={r.stageKey} key={r.stageKey}>
                <td title={names.get(r.stageKey) || r.stageKey}>{label(r.stageKey)}</td>
                <td class="num" data-field="count">{String(r.count || '0')}</td>
                <MoneyTd field="total" money={r.total} currency={f.currency} />
                <MoneyTd field="weighted" money={r.weighted} currency={f.currency} />
                <td class="num" data-field="win-rate" data-bp={String(r.winRateBp || 0)}>
                  {formatBp(r.winRateBp, env.locale)}
                </td>
              </tr>
            ))}
          </tbody>
        </GridTable>
      </div>
    </Card>
  );
}

export function ForecastPage({route, today}) {
  const state = useLoad(() => loadForecast(route));
  return (
    <Page testid="forecast-page" state={state} title={nodeName(route.node)} kind={nodeKind(route.node)}
      attrs={{'data-node-id': route.node, 'data-quarter': `${route.fy}-${route.fq}`}}
      subtitle={<Breadcrumb route={route} page="forecast" />}
      actions={<QuarterSelect route={route} page="forecast" today={today} />}>
      {({f, names}) => (
        <>
          <Card title={`Forecast FY${route.fy} Q${route.fq}`}
            attrs={{'data-testid': 'node-summary', 'data-node-id': (f.node && f.node.nodeId) || route.node}}
            right={f.node && f.node.needsMorePipeline
              ? <Badge kind="red" data-testid="needs-pipeline">Needs more pipeline</Badge>
              : <Badge kind="green">Covered</Badge>}>
            <Summary n={f.node || {nodeId: route.node}} currency={f.currency} />
          </Card>
          <Card title="Team breakdown" right={<span class="muted">click a name to drill down</span>}>
            <Children f={f} route={route} />
          </Card>
          <FunnelCard f={f} names={names} />
        </>
      )}
    </Page>
  );
}
