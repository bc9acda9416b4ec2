// Shared helpers for the browser tests: launch the system Chromium (never a download) with
// the flags a closed network needs, fail loudly, and write screenshots on request.
//
// Besides the scripts' own expectations, every page is watched for what a script would not
// notice by itself, and each of these fails the run (reported by `run`, which then does not
// print `ok`): a request to any origin but the test server's (a vendored asset swapped for a
// CDN link, an analytics beacon), a WebSocket elsewhere, an uncaught script error, a message
// on the browser console at level error (a CSP violation blocking htmx or a style), and an
// answer of 500 or more, or 400 or more for anything but a page (a missing asset).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const CHROMIUM = process.env.SHEBAO_CHROMIUM || '/usr/bin/chromium';

/** Problems seen outside the scripts' expectations; `run` fails when there is any. */
const problems = [];

function problem(message) {
  console.error(message);
  problems.push(message);
  process.exitCode = 1;
}

/**
 * The command-line arguments after the script's name, exactly `names.length` of them (the
 * base URL first) and none empty: a driver that passes too few or too many fails here, not in
 * a check that compares with `undefined`.
 */
export function args(...names) {
  const values = process.argv.slice(2);
  if (values.length !== names.length || values.some((v) => v === '')) {
    throw new Error(`usage: node ${process.argv[1]} ${names.map((n) => `<${n}>`).join(' ')} (got ${JSON.stringify(values)})`);
  }
  return values;
}

export async function launch() {
  // playwright-core gives every launch a fresh temporary user-data-dir.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** True for the test server's own URLs and for `data:` URLs (the pages' inline images). */
function allowed(url, origin) {
  if (url.startsWith('data:')) return true;
  try {
    // The whole origin, not a prefix: http://127.0.0.1:8080 must not admit :80801 or
    // http://127.0.0.1:8080.evil.example.
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  // Nothing may come from outside the test server: any other origin fails the run. The route
  // is on the context, so pages the page opens are held to it too.
  const origin = new URL(process.argv[2]).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url, origin)) return route.continue();
    problem(`request outside the test server: ${url}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== new URL(origin).host) problem(`WebSocket outside the test server: ${ws.url()}`);
  });
  page.on('pageerror', (e) => problem(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problem(`browser console error: ${m.text()} (${m.location().url})`);
  });
  page.on('response', (r) => {
    const status = r.status();
    const isPage = r.request().resourceType() === 'document';
    if (status >= 500 || (status >= 400 && !isPage)) problem(`answer ${status} for ${r.request().resourceType()} ${r.url()}`);
  });
  return page;
}

export function expect(condition, message) {
  if (condition !== true) throw new Error(`expectation failed: ${message}`);
}

/** Strict equality, saying what was found. */
export function expectEqual(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(`expectation failed: ${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/**
 * The trimmed text of the one element `selector` matches. No element, or more than one, is a
 * failure (a check must not read whichever of several elements happens to come first).
 */
export async function text(page, selector) {
  const found = page.locator(selector);
  await found.first().waitFor({ state: 'attached' });
  const n = await found.count();
  if (n !== 1) throw new Error(`expectation failed: exactly one element matches ${selector}, found ${n}`);
  return (await found.innerText()).trim();
}

/** The trimmed texts of the cells of each row `rows` matches (none: an empty list). */
export async function cells(page, rows) {
  return page.locator(rows).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.innerText.trim())));
}

/** Writes `name.png` into $SHEBAO_SCREENSHOTS when set. */
export async function shot(page, name) {
  const dir = process.env.SHEBAO_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/**
 * Runs `body(browser)`, closes the browser, and exits non-zero on any failure: an
 * expectation, an exception, or a problem the pages showed (see the top of this file). Prints
 * `ok` as its last line only when there was none; the Rust driver asks for that line.
 */
export async function run(body) {
  const browser = await launch();
  let finished = false;
  try {
    await body(browser);
    finished = true;
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
  } finally {
    await browser.close();
  }
  if (problems.length > 0) {
    console.error(`${problems.length} problem(s) in the pages:\n  ${problems.join('\n  ')}`);
  }
  if (finished && problems.length === 0) {
    console.log('ok');
  } else {
    process.exitCode = 1;
  }
}

export async function clerkLogin(page, base, token) {
  await page.goto(`${base}/console/login`);
  expect((await page.title()).includes('窗口人员登录'), 'the login page is in Chinese by default');
  await page.getByLabel('操作员令牌').fill(token);
  await Promise.all([page.waitForURL('**/console/search'), page.click('#login')]);
}

/**
 * Runs `action` (a click or key press that submits a form or follows a link) and waits until
 * the new page has loaded at `url`. Waiting for the navigation event first matters when the
 * form redirects back to the page it is on: `waitForURL` alone would be satisfied by the old
 * page and the next check could read it.
 */
export async function navigate(page, url, action) {
  await Promise.all([
    page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() }),
    action(),
  ]);
  await page.waitForURL(url);
}
