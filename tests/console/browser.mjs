// Headless Chromium (Debian's /usr/bin/chromium) driven by puppeteer-core, for the console's
// browser tests. puppeteer-core is not installed next to this file: `deps` is the directory
// tests/console/install_browser_tools.sh installed it into.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
export const TIMEOUT_MS = 10000;  // every wait on the page

export async function launch(deps) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh`);
  const require = createRequire(path.join(deps, 'package.json'));
  const puppeteer = require('puppeteer-core');
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
      '--disable-dev-shm-usage'],
    protocolTimeout: 30000,
  });
}

// A page in a fresh browser context (no storage shared with other pages) at `viewport`, that
// records its requests and its console/page errors (page.record: {requests, logs}).
export async function newPage(browser, viewport = {width: 1280, height: 800}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(viewport);
  page.setDefaultTimeout(TIMEOUT_MS);
  page.record = {requests: [], logs: []};
  page.on('request', (r) => page.record.requests.push({url: r.url(), method: r.method()}));
  page.on('console', (m) => page.record.logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.record.logs.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.record.logs.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  return page;
}

// Presets the token (sessionStorage "salesops.token") before any script of the page runs.
export async function presetToken(page, token) {
  await page.evaluateOnNewDocument((t) => sessionStorage.setItem('salesops.token', t), token);
}

// Waits until `[data-testid=<testid>]` has data-ready="true" and (when given) holds an element
// matching `inner`: resolves; rejects with the text of a [data-testid=page-error] that shows
// instead, or after TIMEOUT_MS.
export async function waitReady(page, testid, inner = '') {
  const sel = `[data-testid=${testid}][data-ready=true]`;
  const handle = await page.waitForFunction((s, i) => {
    const root = document.querySelector(s);
    if (root && (!i || root.querySelector(i))) return 'ready';
    const err = document.querySelector('[data-testid=page-error]');
    return err ? `error: ${err.textContent}` : false;
  }, {timeout: TIMEOUT_MS}, sel, inner).catch((e) => {
    throw new Error(`waiting for ${sel}${inner ? ' holding ' + inner : ''}: ${e.message}`);
  });
  const v = await handle.jsonValue();
  if (v !== 'ready') throw new Error(`${testid}: page-error instead of data-ready: ${v}`);
}

// Navigates to the console's `route` (e.g. "#/forecast?node=..") from a fresh load.
export async function open(page, url, route) {
  await page.goto(`${url}/${route}`, {waitUntil: 'domcontentloaded', timeout: TIMEOUT_MS});
}

// Signs in on the sign-in page with `token` (clicking the button).
export async function signIn(page, url, token) {
  await open(page, url, '#/sign-in');
  await page.waitForSelector('[data-testid=sign-in-page] input[data-testid=token-input]');
  await page.type('input[data-testid=token-input]', token);
  await page.click('button[data-testid=sign-in-button]');
}

// Changes the hash route in the running app (no reload).
export async function route(page, hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}

// {field: data-minor (or data-bp for coverage)} of the [data-field] cells under `rootSel`, plus
// needsPipeline: whether a [data-testid=needs-pipeline] is present.
export async function cells(page, rootSel) {
  return page.$eval(rootSel, (root) => {
    const out = {};
    for (const el of root.querySelectorAll('[data-field]')) {
      const f = el.getAttribute('data-field');
      out[f] = el.getAttribute('data-minor') ?? el.getAttribute('data-bp') ?? el.textContent.trim();
      out[`${f}.text`] = el.textContent.trim();
    }
    out.needsPipeline = root.querySelector('[data-testid=needs-pipeline]') !== null;
    return out;
  });
}

// Requests of the page to another origin than the console's (data: and blob: URLs excepted).
export function externalRequests(page, url) {
  const origin = new URL(url).origin;
  return page.record.requests.filter((r) => !/^(data|blob):/.test(r.url) && new URL(r.url).origin !== origin);
}
