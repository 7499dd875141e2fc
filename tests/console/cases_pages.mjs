// The collections chart (issue 22, Must show 1), every page at a laptop and a phone width with
// screenshots (Must show 2), and the load time and asset size (Must show 3).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {minor} from './api.mjs';
import {firstWithRoles} from './cases_deals.mjs';
import {newPage, open, presetToken, route, signIn, waitReady} from './browser.mjs';
import {check} from './expect.mjs';

const VIEWPORTS = [{width: 1280, height: 800}, {width: 390, height: 844}];
const LOAD_RUNS = 5;
const LOAD_BUDGET_MS = 1000;
const GZIP_BUDGET_BYTES = 500 * 1000;  // "500 KB", read strictly (as console/web/build.mjs)

// The aging chart: one bar per bucket of GetAging(orgNodeId=root).total, in the API's (proto
// field) order, with the bucket's unitsMinor; the legend table's rows the same.
export async function aging(ctx) {
  const {nodes, tokens} = ctx.state;
  const want = await ctx.api('CreditService', 'GetAging', {orgNodeId: nodes.root});
  const buckets = Object.keys(want.total ?? {}).filter((k) => k !== 'total');
  check(buckets.length > 0 && minor(want.total.total) !== '0', `GetAging(root) has no open amount: ${JSON.stringify(want.total)}`);
  const page = ctx.track(await newPage(ctx.browser));
  await presetToken(page, tokens.admin);
  await open(page, ctx.url, `#/collections?node=${nodes.root}`);
  await waitReady(page, 'collections-page', 'svg[data-testid=aging-chart]');
  let bars = await page.$$eval('svg[data-testid=aging-chart] rect[data-testid=aging-bar]',
      (rs) => rs.map((r) => ({bucket: r.getAttribute('data-bucket'), minor: r.getAttribute('data-minor')})));
  console.log(`aging: page bars ${JSON.stringify(bars)}`);
  const total = bars.filter((b) => b.bucket === 'total');  // a bar for the total is allowed
  for (const b of total) check(b.minor === minor(want.total.total), `total bar ${b.minor}`);
  bars = bars.filter((b) => b.bucket !== 'total');
  const exp = buckets.map((k) => ({bucket: k, minor: minor(want.total[k])}));
  check(JSON.stringify(bars) === JSON.stringify(exp), `aging bars differ from GetAging: ${JSON.stringify(exp)}`);
  for (const e of exp) {
    const row = await page.$eval(`table[data-testid=aging-table] tr[data-bucket="${e.bucket}"]`,
        (tr) => tr.querySelector('[data-minor]')?.getAttribute('data-minor')).catch(() => 'no row');
    check(row === e.minor, `aging-table ${e.bucket}: page ${row}, GetAging ${e.minor}`);
  }
}

async function screenshot(ctx, page, name, vp) {
  const dir = ctx.args.screenshots;
  check(dir, '--screenshots=DIR is required');
  fs.mkdirSync(dir, {recursive: true});
  const file = path.join(dir, `${name}-${vp.width}x${vp.height}.png`);
  await page.screenshot({path: file, fullPage: true});
  const noError = await page.$('[data-testid=page-error]') === null;
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(`console_screenshot ${file} scrollWidth=${overflow}`);
  check(noError, `${name} at ${vp.width}x${vp.height} shows a page-error`);
  check(overflow <= vp.width + 1,
      `${name} at ${vp.width}x${vp.height}: the page is ${overflow} px wide (horizontal overflow)`);
}

// Every page at both widths: data-ready, no page-error, no horizontal overflow; a screenshot each.
export async function pages(ctx) {
  const {nodes, tokens} = ctx.state;
  const q = ctx.quarterQuery;
  for (const vp of VIEWPORTS) {
    const page = ctx.track(await newPage(ctx.browser, vp));
    await open(page, ctx.url, '#/sign-in');
    await page.waitForSelector('[data-testid=sign-in-page] input[data-testid=token-input]');
    await screenshot(ctx, page, 'sign-in', vp);
    await signIn(page, ctx.url, tokens.admin);
    await waitReady(page, 'forecast-page', `[data-testid=node-summary][data-node-id="${nodes.root}"]`);
    await screenshot(ctx, page, 'forecast', vp);
    await route(page, `#/progress?node=${nodes.manager}&${q}`);
    await waitReady(page, 'progress-page');
    await screenshot(ctx, page, 'progress', vp);
    await route(page, `#/deals?node=${nodes.lina}`);
    await waitReady(page, 'deals-page', 'tr[data-testid=deal-row] a[data-testid=deal-link]');
    await screenshot(ctx, page, 'deals', vp);
    // The screenshot shows a deal with a buying centre.
    const rows = await page.$$eval('tr[data-testid=deal-row]', (trs) => trs.map((tr) => tr.getAttribute('data-opp-id')));
    const opp = (await firstWithRoles(ctx, rows)).id;
    await page.click(`tr[data-testid=deal-row][data-opp-id="${opp}"] a[data-testid=deal-link]`);
    await waitReady(page, 'deal-detail', 'table[data-testid=buying-centre] tr[data-testid=role-row]');
    const hash = await page.evaluate(() => location.hash);
    check(hash === `#/deals/opp/${opp}`, `deal link went to "${hash}"`);
    await screenshot(ctx, page, 'deal', vp);
    await route(page, `#/collections?node=${nodes.root}`);
    await waitReady(page, 'collections-page');
    await screenshot(ctx, page, 'collections', vp);
  }
}

// Milliseconds from navigation start to the forecast page's data-ready, measured in the page: a
// MutationObserver installed before the app's scripts records performance.now() (whose origin is
// the navigation start) when [data-testid=forecast-page][data-ready=true] first exists.
async function loadOnce(ctx, assets) {
  const {nodes, tokens} = ctx.state;
  const page = ctx.track(await newPage(ctx.browser));
  await presetToken(page, tokens.admin);
  await page.evaluateOnNewDocument(() => {
    const sel = '[data-testid=forecast-page][data-ready=true]';
    const seen = () => {
      if (window.__consoleReadyMs === undefined && document.querySelector(sel)) {
        window.__consoleReadyMs = performance.now();
      }
    };
    new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true});
  });
  const origin = new URL(ctx.url).origin;
  page.on('response', async (res) => {
    if (res.request().method() !== 'GET' || new URL(res.url()).origin !== origin || res.status() >= 400) return;
    const body = await res.buffer().catch(() => null);
    if (body) assets.set(new URL(res.url()).pathname, {raw: body.length, gzip: zlib.gzipSync(body, {level: 9}).length});
  });
  await open(page, ctx.url, `#/forecast?node=${nodes.root}&${ctx.quarterQuery}`);
  await waitReady(page, 'forecast-page', `[data-testid=node-summary][data-node-id="${nodes.root}"]`);
  const ms = await page.waitForFunction(() => window.__consoleReadyMs).then((h) => h.jsonValue());
  await page.browserContext().close();
  return ms;
}

// Five fresh loads after a warm-up: median < 1 s; the assets served (every successful GET from
// the console's origin, gzip -9) < 500 KB; no request to another origin (checked for every page by cases.mjs).
export async function load(ctx) {
  const assets = new Map();
  // One load first, not counted: the first page after Chromium starts also pays the browser's
  // own start-up (its network service, the first renderer), which a user's browser has behind it.
  const warmup = await loadOnce(ctx, new Map());
  const times = [];
  for (let i = 0; i < LOAD_RUNS; ++i) times.push(await loadOnce(ctx, assets));
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const max = sorted[sorted.length - 1];
  let gzip = 0;
  let raw = 0;
  for (const [p, s] of assets) {
    console.log(`console_asset ${p} raw=${s.raw} gzip=${s.gzip}`);
    gzip += s.gzip;
    raw += s.raw;
  }
  console.log(`console_load_ms median=${median.toFixed(1)} max=${max.toFixed(1)} runs=${times.map((t) => t.toFixed(1)).join(',')} warmup=${warmup.toFixed(1)}`);
  console.log(`console_assets_gzip_bytes=${gzip} raw_bytes=${raw} files=${assets.size}`);
  check(assets.size > 0, 'no asset responses recorded');
  check(median < LOAD_BUDGET_MS, `median load ${median.toFixed(1)} ms >= ${LOAD_BUDGET_MS} ms`);
  check(gzip < GZIP_BUDGET_BYTES, `assets ${gzip} bytes gzipped >= ${GZIP_BUDGET_BYTES}`);
}
