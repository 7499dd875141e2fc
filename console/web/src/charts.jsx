// The hand-drawn SVG charts: the funnel (trapezoids by stage, widest first), the cumulative
// progress line against the pace line, and the aging bar chart. Geometry only uses ratios of
// exact integers (money.js ratio); every label is formatted from the API's values.
import {env} from './env.js';
import {formatMoneyCompact, minorOf, maxMinor, ratio} from './money.js';
import {formatBp} from './format.js';

// Phones get charts drawn for their width (larger text relative to the plot), read at render.
function narrow() {
  return typeof matchMedia === 'function' && matchMedia('(max-width: 600px)').matches;
}

const STAGE_COLOURS = ['#1e3a8a', '#1d4ed8', '#2563eb', '#3b82f6', '#0284c7', '#0891b2', '#0d9488', '#059669'];

// rows: [{key, label, count}] in model order. One g[data-testid=funnel-stage] per row.
export function Funnel({rows}) {
  const width = 420;
  const rowH = 44;
  const gap = 4;
  const n = rows.length;
  const maxW = width;
  const minW = width * 0.34;
  const w = (i) => maxW - ((maxW - minW) * i) / Math.max(n, 1);
  const height = n * (rowH + gap) - gap;
  return (
    <svg data-testid="funnel" class="chart funnel" viewBox={`0 0 ${width} ${Math.max(height, 1)}`}
      role="img" aria-label="Sales funnel by stage">
      {rows.map((r, i) => {
        const top = w(i);
        const bottom = w(i + 1);
        const y = i * (rowH + gap);
        const cx = width / 2;
        const pts = [[cx - top / 2, y], [cx + top / 2, y], [cx + bottom / 2, y + rowH], [cx - bottom / 2, y + rowH]]
          .map((p) => p.map((v) => Math.round(v * 10) / 10).join(',')).join(' ');
        return (
          <g data-testid="funnel-stage" data-stage={r.key} data-count={String(r.count)} key={r.key}>
            <title>{`${r.label}: ${r.count}`}</title>
            <polygon points={pts} fill={STAGE_COLOURS[i % STAGE_COLOURS.length]} />
            <text x={cx} y={y + rowH / 2} class="funnel-label" text-anchor="middle" dominant-baseline="central">
              {r.label} · {r.count}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

// weeks: [{week, cumulativeBp}] closed weeks in order; W weeks per quarter; paceBp per week.
export function ProgressChart({weeks, weeksPerQuarter, paceBp}) {
  const small = narrow();
  const W = small ? 380 : 1100;
  const H = small ? 240 : 300;
  const m = {l: 44, r: 12, t: 14, b: 30};
  const maxData = Math.max(10000, ...weeks.map((w) => w.cumulativeBp));
  const yMax = Math.ceil(maxData / 2500) * 2500;
  const x = (week) => m.l + ((W - m.l - m.r) * week) / weeksPerQuarter;
  const y = (bp) => H - m.b - ((H - m.t - m.b) * bp) / yMax;
  const ticks = [];
  for (let v = 0; v <= yMax; v += 2500) ticks.push(v);
  const paceEnd = paceBp * weeksPerQuarter;
  const pts = [[0, 0], ...weeks.map((w) => [w.week, w.cumulativeBp])];
  const line = pts.map(([wk, bp], i) => (i ? 'L' : 'M') + x(wk).toFixed(1) + ' ' + y(bp).toFixed(1)).join(' ');
  return (
    <svg data-testid="progress-chart" class="chart" viewBox={`0 0 ${W} ${H}`} role="img"
      aria-label="Cumulative progress against the pace line">
      {ticks.map((v) => (
        <g key={v}>
          <line x1={m.l} x2={W - m.r} y1={y(v)} y2={y(v)} class={v === 10000 ? 'grid grid-strong' : 'grid'} />
          <text x={m.l - 6} y={y(v)} class="axis" text-anchor="end" dominant-baseline="central">
            {formatBp(v, env.locale).replace(/\.0%$/, '%')}
          </text>
        </g>
      ))}
      {Array.from({length: weeksPerQuarter + 1}, (_, wk) => (small && wk % 2 ? null
        : <text key={wk} x={x(wk)} y={H - m.b + 16} class="axis" text-anchor="middle">{wk === 0 ? 'W0' : wk}</text>
      ))}
      <line data-testid="pace-line" x1={x(0)} y1={y(0)} x2={x(weeksPerQuarter)} y2={y(paceEnd)} class="pace" />
      <path d={line} class="progress-line" fill="none" />
      {weeks.map((w) => (
        <circle key={w.week} cx={x(w.week)} cy={y(w.cumulativeBp)} r="4" class={w.onPace ? 'dot dot-pos' : 'dot dot-neg'}>
          <title>{`Week ${w.week}: ${formatBp(w.cumulativeBp, env.locale)}`}</title>
        </circle>
      ))}
    </svg>
  );
}

const BUCKET_COLOURS = ['#16a34a', '#ca8a04', '#ea580c', '#dc2626', '#b91c1c', '#7f1d1d'];

// buckets: [{name, label, short, money}] in proto field order; one rect[data-testid=aging-bar] each.
export function AgingChart({buckets, currency}) {
  const W = narrow() ? 380 : 720;
  const H = 240;
  const m = {l: 12, r: 12, t: 26, b: 34};
  const max = maxMinor(buckets.map((b) => minorOf(b.money)));
  const slot = (W - m.l - m.r) / Math.max(buckets.length, 1);
  const barW = Math.min(72, slot * 0.62);
  const plotH = H - m.t - m.b;
  return (
    <svg data-testid="aging-chart" class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Aging buckets">
      <line x1={m.l} x2={W - m.r} y1={H - m.b} y2={H - m.b} class="grid grid-strong" />
      {buckets.map((b, i) => {
        const minor = minorOf(b.money);
        const h = Math.round(ratio(minor, max) * plotH * 10) / 10;
        const cx = m.l + slot * i + slot / 2;
        return (
          <g key={b.name}>
            <rect data-testid="aging-bar" data-bucket={b.name} data-minor={minor} x={(cx - barW / 2).toFixed(1)}
              y={(H - m.b - h).toFixed(1)} width={barW.toFixed(1)} height={h} rx="3"
              fill={BUCKET_COLOURS[i % BUCKET_COLOURS.length]}>
              <title>{b.label}</title>
            </rect>
            <text x={cx} y={H - m.b - h - 8} class="bar-value" text-anchor="middle">
              {formatMoneyCompact(b.money, env.locale, currency)}
            </text>
            <text x={cx} y={H - m.b + 18} class="axis" text-anchor="middle">{b.short}</text>
          </g>
        );
      })}
    </svg>
  );
}
