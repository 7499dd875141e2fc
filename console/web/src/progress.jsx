// The Progress page (CONSOLE_CONTRACT.md "Progress"): the node's weekly progress from the closed
// weeks' snapshots against the pace line, and the submissions of the current week.
import {call} from './api.js';
import {env, nodeKind, nodeName} from './env.js';
import {formatBp, formatMicros, weekOf, weeksFromPace} from './format.js';
import {ProgressChart} from './charts.jsx';
import {Breadcrumb, QuarterSelect} from './forecast.jsx';
import {Badge, Card, Empty, MoneyTd, Page, GridTable, fmtMoney, moneyAttrs, useLoad} from './ui.jsx';

async function loadProgress({node, fy, fq}, now) {
  const progress = await call('ForecastService', 'GetProgress', {nodeId: node, fiscalYear: fy, fiscalQuarter: fq});
  const weeks = weeksFromPace(progress.paceBp);
  const week = weekOf({fy, fq}, now, weeks);
  const subs = await call('ForecastService', 'ListSubmissions', {nodeId: node, fiscalYear: fy, fiscalQuarter: fq, week});
  return {progress, weeks, week, subs};
}

// Cumulative progress (bp) after each closed week: the running sum of the weeks' progress.
function cumulative(weeks) {
  let sum = 0;
  return weeks.map((w) => {
    sum += Number(w.progressBp || 0);
    return {...w, week: w.week || 0, cumulativeBp: sum};
  });
}

function SubmissionState({late, submitted}) {
  return (
    <>
      <span data-field="state" class={submitted ? 'state-ok' : 'state-missing'}>{submitted ? 'submitted' : 'missing'}</span>
      {late && <Badge kind="red" data-testid="late">late</Badge>}
    </>
  );
}

function Submissions({subs, node, week, currency}) {
  const own = subs.own;
  const ownLate = own ? !!own.late : (subs.lateNodeIds || []).includes(node);
  const rows = subs.children || [];
  return (
    <Card title={`Submissions, week ${week}`}>
      <div class="own-submission" data-testid="own-submission" data-node-id={node}>
        <span class="muted">{nodeName(node)}:</span> <SubmissionState submitted={!!own} late={ownLate} />
        {own && <span class="muted"> {fmtMoney(own.amount, currency)} by {own.submittedBy || '—'},
          {' '}{formatMicros(own.submittedMicros, env.locale)}</span>}
      </div>
      <GridTable testid="submissions">
        <thead>
          <tr><th>Node</th><th>State</th><th class="num">Submitted</th><th class="num">Computed now</th>
            <th>By</th><th>When</th></tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr data-testid="submission-row" data-node-id={c.nodeId} key={c.nodeId}>
              <td class="name">{nodeName(c.nodeId)}</td>
              <td><SubmissionState submitted={!!c.submission} late={!!c.late} /></td>
              {c.submission ? <MoneyTd field="amount" money={c.submission.amount} currency={currency} />
                : <td class="num muted">—</td>}
              <MoneyTd field="computed" money={c.computed} currency={currency} />
              <td>{c.submission ? c.submission.submittedBy : ''}</td>
              <td class="nowrap">{c.submission ? formatMicros(c.submission.submittedMicros, env.locale) : ''}</td>
            </tr>
          ))}
        </tbody>
      </GridTable>
      {rows.length === 0 && <Empty>No child nodes report to this node.</Empty>}
    </Card>
  );
}

export function ProgressPage({route, today, now}) {
  const state = useLoad(() => loadProgress(route, now));
  return (
    <Page testid="progress-page" state={state} title={nodeName(route.node)} kind={nodeKind(route.node)}
      attrs={{'data-node-id': route.node, 'data-quarter': `${route.fy}-${route.fq}`}}
      subtitle={<Breadcrumb route={route} page="progress" />}
      actions={<QuarterSelect route={route} page="progress" today={today} />}>
      {({progress, weeks, week, subs}) => {
        const rows = cumulative(progress.weeks || []);
        const currency = (progress.quota && progress.quota.currency) || '';
        const total = rows.length ? rows[rows.length - 1].cumulativeBp : 0;
        return (
          <>
            <Card title={`Progress FY${route.fy} Q${route.fq}`}
              right={rows.length ? (progress.onPace ? <Badge kind="green">On pace</Badge> : <Badge kind="red">Behind pace</Badge>) : null}>
              <div class="kpis kpis-small">
                <div class="kpi"><div class="kpi-label">Quota</div>
                  <div class="kpi-value" {...moneyAttrs('quota', progress.quota)}>{fmtMoney(progress.quota, currency)}</div></div>
                <div class="kpi"><div class="kpi-label">Cumulative progress</div>
                  <div class="kpi-value" data-field="cumulative" data-bp={String(progress.cumulativeProgressBp || 0)}>
                    {formatBp(progress.cumulativeProgressBp, env.locale)}</div></div>
                <div class="kpi"><div class="kpi-label">Pace per week</div>
                  <div class="kpi-value" data-field="pace" data-bp={String(progress.paceBp || 0)}>
                    {formatBp(progress.paceBp, env.locale)}</div></div>
                <div class="kpi"><div class="kpi-label">Weeks closed</div>
                  <div class="kpi-value">{rows.length} / {weeks}</div></div>
              </div>
              <ProgressChart weeks={rows} weeksPerQuarter={weeks} paceBp={Number(progress.paceBp || 0)} />
              <div class="legend">
                <span class="legend-item"><span class="key key-progress" /> Cumulative progress ({formatBp(total, env.locale)})</span>
                <span class="legend-item"><span class="key key-pace" /> Pace line (1/{weeks} of quota a week)</span>
              </div>
            </Card>
            <Card title="Week by week">
              <GridTable testid="progress-table">
                <thead>
                  <tr><th class="num">Week</th><th class="num">Weighted pipeline</th><th class="num">Closed (cum.)</th>
                    <th class="num">Forecast</th><th class="num">Progress</th><th class="num">Cumulative</th><th /></tr>
                </thead>
                <tbody>
                  {rows.map((w) => (
                    <tr data-testid="progress-row" data-week={String(w.week)} key={w.week}>
                      <td class="num">{w.week}</td>
                      <MoneyTd field="weighted" money={w.pipelineWeighted} currency={currency} />
                      <MoneyTd field="closed" money={w.cumulativeClosed} currency={currency} />
                      <MoneyTd field="forecast" money={w.forecast} currency={currency} />
                      <td class="num" data-field="progress" data-bp={String(w.progressBp || 0)}>{formatBp(w.progressBp, env.locale)}</td>
                      <td class="num">{formatBp(w.cumulativeBp, env.locale)}</td>
                      <td>{w.onPace ? <Badge kind="green">on pace</Badge> : <Badge kind="red">behind</Badge>}</td>
                    </tr>
                  ))}
                </tbody>
              </GridTable>
              {rows.length === 0 && <Empty>No week of this quarter has closed yet.</Empty>}
            </Card>
            <Submissions subs={subs} node={route.node} week={week} currency={currency} />
          </>
        );
      }}
    </Page>
  );
}
