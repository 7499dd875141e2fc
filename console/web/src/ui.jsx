// Shared building blocks of the pages: the data-loading hook, the page root with the contract's
// data-ready / data-error / page-error, money and percent cells, badges, table wrappers.
import {useEffect, useState} from 'preact/hooks';
import {env} from './env.js';
import {formatMoney, minorOf, signOf} from './money.js';
import {formatBp} from './format.js';

// Runs `loader` once (pages are keyed by their route, so a new route mounts a new page), next to
// the org tree's and the locale's loads (names, breadcrumbs, formats), and returns {status: 'loading'|'ready'|'error', data,
// error}.
export function useLoad(loader) {
  const [state, setState] = useState({status: 'loading'});
  useEffect(() => {
    let alive = true;
    Promise.all([loader(), env.orgReady, env.configReady]).then(
      ([data]) => alive && setState({status: 'ready', data}),
      (error) => alive && setState({status: 'error', error}));
    return () => {
      alive = false;
    };
  }, []);
  return state;
}

// A page root: data-ready="true" once its data is loaded and rendered (the children are rendered
// in the same commit), data-error=<code> and a visible [data-testid=page-error] when a call failed.
export function Page({testid, state, title, kind, subtitle, actions, attrs = {}, children}) {
  const ready = state.status === 'ready';
  const err = state.status === 'error' ? state.error : null;
  return (
    <section class="page" data-testid={testid} data-ready={ready ? 'true' : undefined}
      data-error={err ? err.code || 'unknown' : undefined} {...attrs}>
      <div class="page-head">
        <div class="page-titles">
          <div class="title-row"><h1>{title}</h1>{kind && <span class="kind-pill">{kind}</span>}</div>
          {subtitle && <div class="page-sub">{subtitle}</div>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {state.status === 'loading' && <div class="loading" aria-busy="true">Loading…</div>}
      {err && (
        <div class="alert" role="alert" data-testid="page-error">
          <strong>Could not load this page.</strong> {err.message || String(err)}
          {err.code ? <span class="muted"> ({err.code})</span> : null}
        </div>
      )}
      {ready && children(state.data)}
    </section>
  );
}

export function Card({title, right, children, cls = '', attrs = {}}) {
  return (
    <div class={'card ' + cls} {...attrs}>
      {(title || right) && (
        <div class="card-head">
          <h2>{title}</h2>
          {right && <div class="card-right">{right}</div>}
        </div>
      )}
      {children}
    </div>
  );
}

// A table in a horizontally scrolling wrapper (phones).
// A table in the console's grid style, in a wrapper that scrolls it sideways on a phone.
export function GridTable({testid, children}) {
  return (
    <div class="table-wrap">
      <table data-testid={testid} class="grid-table">{children}</table>
    </div>
  );
}

export function Empty({children}) {
  return <div class="empty" data-testid="empty">{children}</div>;
}

// The formatted amount of a Money, with data-minor="<unitsMinor>" ('0' when absent).
export function moneyAttrs(field, money) {
  return {'data-field': field, 'data-minor': minorOf(money)};
}

export function fmtMoney(money, currency = '') {
  return formatMoney(money, env.locale, currency);
}

export function MoneyTd({field, money, currency, cls = ''}) {
  return <td class={'num ' + cls} {...moneyAttrs(field, money)}>{fmtMoney(money, currency)}</td>;
}

// Gap: red while behind (quota above forecast), green when ahead or level.
export function gapClass(money) {
  return signOf(money) > 0 ? 'neg' : 'pos';
}

// Coverage: green at 100% and above, amber from 75%, red below.
export function coverageClass(bp) {
  const v = Number(bp || 0);
  return v >= 10000 ? 'pos' : v >= 7500 ? 'warn' : 'neg';
}

export function BpTd({field, bp, cls = ''}) {
  return <td class={'num ' + cls} data-field={field} data-bp={String(bp || 0)}>{formatBp(bp, env.locale)}</td>;
}

export function Badge({kind = 'grey', children, ...rest}) {
  return <span class={'badge badge-' + kind} {...rest}>{children}</span>;
}
