// (3) The supervisor dashboard renders its counts and its chart of locks per day; changing the
// period swaps the chart (htmx) without reloading the page.
// usage: node dashboard.mjs <base-url> <clerk-token> <expected-ss-locks> <expected-bars-min>
import { run, newPage, expect, text, shot, clerkLogin } from './lib.mjs';

const [base, token, ssLocks, barsMin] = process.argv.slice(2);

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);
  await page.goto(`${base}/console/dashboard`);
  await page.waitForSelector('svg#lock-chart');
  const bars = await page.locator('svg#lock-chart rect.bar').count();
  expect(bars >= Number(barsMin), `at least ${barsMin} bars, got ${bars}`);
  const box = await page.locator('svg#lock-chart').boundingBox();
  expect(box && box.width > 300 && box.height > 100, `the chart is drawn large enough: ${JSON.stringify(box)}`);
  const tiles = await text(page, '.tiles');
  expect(tiles.includes(`${ssLocks}\n社保账户密码锁定`) || tiles.includes(`${ssLocks}社保账户密码锁定`), `the locked count shows ${ssLocks}: ${tiles}`);
  expect((await page.locator('#lapsing tbody tr').count()) >= 1, 'a pre-loss about to lapse is listed');
  expect((await page.locator('#due tbody tr').count()) >= 1, 'a replacement to collect is listed');
  await shot(page, 'dashboard');

  // htmx swaps in the 30-day chart: the page itself does not reload.
  await page.evaluate(() => { window.__stayed = true; });
  const swapped = page.waitForResponse((r) => r.url().includes('/console/dashboard/chart?days=30'));
  await page.selectOption('#days', '30');
  await swapped;
  await page.waitForFunction(() => document.querySelectorAll('#chart tbody tr').length === 30);
  expect(await page.evaluate(() => window.__stayed === true), 'the chart was swapped in place');
  expect((await page.locator('svg#lock-chart rect.bar').count()) >= Number(barsMin), 'the 30-day chart has the bars');
});
