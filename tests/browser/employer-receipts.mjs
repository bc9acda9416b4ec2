// (4) A window clerk opens an employer in arrears from the navigation, sees the unit lock
// (since when, which months, what the holders are told: R-EM-2, R-EM-5), is told in words
// when an amount is malformed, then types the employer's tax receipts in yuan and sees the
// lock lifted (R-EM-3, D-9).
// usage: node employer-receipts.mjs <base-url> <clerk-token> <employer-id> <amount-yuan>
import { run, newPage, expect, text, shot, navigate, clerkLogin } from './lib.mjs';

const [base, token, employerId, amount] = process.argv.slice(2);

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);

  await page.click('#nav-employers');
  await page.waitForURL('**/console/employers');
  await page.getByLabel('单位编号').fill(employerId);
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#employer-find'));
  expect((await text(page, '#unit-lock-since')) === '2026-04-01', 'locked since April 1');
  expect((await text(page, '#unit-lock-months')) === '2026-03, 2026-04, 2026-05', 'the months holding the lock');
  const told = await text(page, '#unit-lock-message');
  expect(told.includes('请联系单位负责社保缴费的工作人员'), `what the holders are told (R-EM-5): ${told}`);
  expect((await page.inputValue('#month_1')) === '2026-03', 'the months in arrears are filled in');
  await shot(page, 'console-employer-locked');

  // A malformed amount is refused in words before anything is recorded.
  await page.fill('#amount_1', '480,00');
  await page.fill('#paid_on_1', '2026-05-20');
  await page.fill('#receipt_no_1', 'SB-2026-03');
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#receipts-submit'));
  let flash = await text(page, '#flash');
  expect(flash.includes('金额格式有误') && flash.includes('第1行'), `a bad amount is named: ${flash}`);
  expect((await text(page, '#unit-lock-since')) === '2026-04-01', 'still locked');

  // The three receipts, typed as the paper says.
  const months = ['2026-03', '2026-04', '2026-05'];
  for (let i = 1; i <= 3; i++) {
    expect((await page.inputValue(`#month_${i}`)) === months[i - 1], `row ${i} is ${months[i - 1]}`);
    await page.fill(`#amount_${i}`, amount);
    await page.fill(`#paid_on_${i}`, '2026-05-20');
    await page.fill(`#receipt_no_${i}`, `SB-${months[i - 1]}`);
  }
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#receipts-submit'));
  flash = await text(page, '#flash');
  expect(flash.includes('单位封锁已解除'), `the lock is lifted: ${flash}`);
  expect((await text(page, '#unit-lock')).includes('未被封锁'), 'the page shows no lock');
  expect((await text(page, '#month-2026-03')).includes('已解除封锁'), 'March shows its lock cleared');
  await shot(page, 'console-employer-lifted');

  // On a phone the wide tables scroll inside their boxes, not the whole page.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/console/employers/${employerId}`);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) {
    // Say which elements stick out, to fix it.
    console.error(await phone.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 12).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).join('\n')));
  }
  expect(overflow <= 0, `the page fits a phone's width (overflow ${overflow}px)`);
  await shot(phone, 'console-employer-phone');

  // In English on request.
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#lang-switch'));
  expect((await text(page, '#unit-lock')).includes('not under a unit lock'), 'English on request');
});
