// (3) The supervisor dashboard renders its counts and its chart of locks per day (R-LK-1
// password locks, R-LS-1 pre-losses about to lapse, R-LS-5 replacements to collect); changing
// the period swaps the chart (htmx) without reloading the page.
// Bugs it catches: a tile counting the wrong thing or not at all (a count of 11 would not pass
// for 1); the chart missing a day's lock, counting it under the wrong reason or on the wrong
// day; the lists showing some other card, or none; the chart drawn too small to read; htmx not
// loaded (the swap would reload the page or not happen); a 30-day period still showing 14 days.
// usage: node dashboard.mjs <base-url> <clerk-token> <expected-ss-locks> <lock-day> <pre-lost-card> <new-card> <ready-on>
import { run, newPage, expect, expectEqual, cells, shot, clerkLogin, args } from './lib.mjs';

const [base, token, ssLocks, lockDay, preLost, newCard, readyOn] =
  args('base-url', 'clerk-token', 'expected-ss-locks', 'lock-day', 'pre-lost-card', 'new-card', 'ready-on');

/** Tile label → the number it shows. */
async function tiles(page) {
  const list = await page.locator('.tiles .tile').evaluateAll((ts) => ts.map((t) => {
    const b = t.querySelector('b');
    return [t.innerText.replace(b.innerText, '').trim(), b.innerText.trim()];
  }));
  return Object.fromEntries(list);
}

/** The titles of the chart's bars: "YYYY-MM-DD reason: n". */
async function bars(page) {
  return (await page.locator('svg#lock-chart rect.bar').evaluateAll((rs) => rs.map((r) => r.querySelector('title').textContent))).sort();
}

// One password lock and one pre-loss, both on the lock day.
const expectedBars = [`${lockDay} 挂失: 1`, `${lockDay} 社保密码锁定: 1`].sort();

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);
  await page.goto(`${base}/console/dashboard`);
  await page.waitForSelector('svg#lock-chart');
  expectEqual(JSON.stringify(await bars(page)), JSON.stringify(expectedBars), 'the bars: one password lock and one loss on the lock day');
  const box = await page.locator('svg#lock-chart').boundingBox();
  expect(box !== null && box.width > 300 && box.height > 100, `the chart is drawn large enough: ${JSON.stringify(box)}`);
  const t = await tiles(page);
  expectEqual(t['社保账户密码锁定'], ssLocks, `the password-locked count (tiles ${JSON.stringify(t)})`);
  expectEqual(t['预挂失中'], '1', `the pre-loss in force (tiles ${JSON.stringify(t)})`);
  expectEqual(t['待领取新卡'], '1', `the replacement waiting (tiles ${JSON.stringify(t)})`);
  expectEqual(t['被单位封锁的单位'], '0', `no unit lock (tiles ${JSON.stringify(t)})`);
  const lapsing = await cells(page, '#lapsing tbody tr');
  expectEqual(lapsing.length, 1, `one pre-loss about to lapse: ${JSON.stringify(lapsing)}`);
  expectEqual(lapsing[0][0], preLost, 'the pre-lost card is listed');
  const due = await cells(page, '#due tbody tr');
  expectEqual(due.length, 1, `one replacement to collect: ${JSON.stringify(due)}`);
  expectEqual(due[0][0], newCard, 'the replacement card is listed');
  expectEqual(due[0][1], readyOn, 'with its ready day, not yet ready');
  await shot(page, 'dashboard');

  // htmx swaps in the 30-day chart: the page itself does not reload.
  await page.evaluate(() => { window.__stayed = true; });
  const swapped = page.waitForResponse((r) => r.url().includes('/console/dashboard/chart?days=30'));
  await page.selectOption('#days', '30');
  expectEqual((await swapped).status(), 200, 'the chart answer');
  await page.waitForFunction(() => document.querySelectorAll('#chart tbody tr').length === 30);
  expectEqual(await page.evaluate(() => window.__stayed), true, 'the chart was swapped in place');
  expectEqual(JSON.stringify(await bars(page)), JSON.stringify(expectedBars), 'the 30-day chart has the same bars');
});
