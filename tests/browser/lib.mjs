// Shared helpers for the browser tests: launch the system Chromium (never a download) with
// the flags a closed network needs, fail loudly, and write screenshots on request.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const CHROMIUM = process.env.SHEBAO_CHROMIUM || '/usr/bin/chromium';

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

export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  // Nothing may come from outside the test server: fail on any other origin.
  const origin = new URL(process.argv[2]).origin;
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    console.error(`request outside the server: ${url}`);
    return route.abort();
  });
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  return page;
}

export function expect(condition, message) {
  if (!condition) throw new Error(`expectation failed: ${message}`);
}

export async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

/** Writes `name.png` into $SHEBAO_SCREENSHOTS when set. */
export async function shot(page, name) {
  const dir = process.env.SHEBAO_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Runs `body(browser)`, closes the browser, and exits non-zero on any failure. */
export async function run(body) {
  const browser = await launch();
  try {
    await body(browser);
    console.log('ok');
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    process.exitCode = 1;
  } finally {
    await browser.close();
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
