// (4) A window clerk opens an employer in arrears from the navigation, sees the unit lock
// (since when, which months, what the holders are told: R-EM-2, R-EM-5), is told in words
// when an amount is malformed, then types the employer's tax receipts in yuan and sees the
// lock lifted (R-EM-3, D-9).
// Bugs it catches: the lock shown from the wrong day or with the wrong months; the holders'
// message missing (R-EM-5); a malformed amount ("480,00") read as some number and recorded, or
// refused without saying which row; the form not prefilled with the months in arrears; yuan
// typed but recorded as fen (880 yuan shown as 8.80) or rounded through floats; the lock
// lifted on the page while a month stays unpaid, or a month missing from the table (each of
// the three rows must be there, with its amounts and its lock cleared); tables that push a
// phone's page sideways; no English. The driver then checks the amounts in fen through the API.
// usage: node employer-receipts.mjs <base-url> <clerk-token> <employer-id> <amount-typed> <amount-shown>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, clerkLogin, args } from './lib.mjs';

const [base, token, employerId, amount, shown] =
  args('base-url', 'clerk-token', 'employer-id', 'amount-typed', 'amount-shown');
const months = ['2026-03', '2026-04', '2026-05'];

/**
 * The row of `month` in the months table, which must be there exactly once:
 * [month, assessed, paid, paid on time, tax paid, due on, data arrived, credited, state].
 */
async function monthRow(page, month) {
  const rows = await cells(page, `#months tr#month-${month}`);
  expectEqual(rows.length, 1, `the months table has one row for ${month}`);
  expectEqual(rows[0][0], month, `the row of ${month} names it`);
  return rows[0];
}

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);

  await navigate(page, '**/console/employers', () => page.click('#nav-employers'));
  await page.getByLabel('单位编号').fill(employerId);
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#employer-find'));
  expectEqual(await text(page, '#unit-lock-since'), '2026-04-01', 'locked since April 1');
  expectEqual(await text(page, '#unit-lock-months'), months.join(', '), 'the months holding the lock');
  const told = await text(page, '#unit-lock-message');
  expect(told.includes('请联系单位负责社保缴费的工作人员'), `what the holders are told (R-EM-5): ${told}`);
  for (const m of months) {
    const row = await monthRow(page, m);
    expectEqual(row[1], shown, `${m} is assessed at ${shown} yuan`);
    expectEqual(row[2], '0.00', `nothing paid for ${m} yet`);
  }
  await shot(page, 'console-employer-locked');

  // A malformed amount is refused in words before anything is recorded.
  expectEqual(await page.inputValue('#month_1'), '2026-03', 'the months in arrears are filled in');
  await page.fill('#amount_1', '480,00');
  await page.fill('#paid_on_1', '2026-05-20');
  await page.fill('#receipt_no_1', 'SB-2026-03');
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#receipts-submit'));
  let flash = await text(page, '#flash');
  expect(flash.includes('金额格式有误') && flash.includes('第1行'), `a bad amount is named: ${flash}`);
  expectEqual(await text(page, '#unit-lock-since'), '2026-04-01', 'still locked');
  for (const m of months) expectEqual((await monthRow(page, m))[2], '0.00', `still nothing recorded for ${m}`);

  // The three receipts, typed as the paper says.
  for (let i = 1; i <= 3; i++) {
    expectEqual(await page.inputValue(`#month_${i}`), months[i - 1], `row ${i} is ${months[i - 1]}`);
    await page.fill(`#amount_${i}`, amount);
    await page.fill(`#paid_on_${i}`, '2026-05-20');
    await page.fill(`#receipt_no_${i}`, `SB-${months[i - 1]}`);
  }
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#receipts-submit'));
  flash = await text(page, '#flash');
  expect(flash.includes('单位封锁已解除'), `the lock is lifted: ${flash}`);
  expect((await text(page, '#unit-lock')).includes('未被封锁'), 'the page shows no lock');
  expectEqual(await page.locator('#unit-lock-since').count(), 0, 'no lock date any more');
  expectEqual(await text(page, '#arrears'), '无', 'no month in arrears');
  for (const m of months) {
    const row = await monthRow(page, m);
    expectEqual(row[2], shown, `${amount} yuan typed for ${m}, ${shown} shown`);
    expect(row[8].startsWith('已解除封锁 '), `${m} shows its lock cleared: ${row[8]}`);
  }
  await shot(page, 'console-employer-lifted');

  // On a phone the wide tables scroll inside their boxes, not the whole page.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/console/employers/${employerId}`);
  expectEqual(await phone.locator('#months').count(), 1, 'the phone sees the employer page, logged in');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // Which elements stick out, to fix it.
  const culprits = await phone.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 12).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).join('\n'));
  expect(overflow <= 0, `the page fits a phone's width (overflow ${overflow}px):\n${culprits}`);
  await shot(phone, 'console-employer-phone');

  // In English on request.
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#lang-switch'));
  expect((await text(page, '#unit-lock')).includes('not under a unit lock'), 'English on request');
});
