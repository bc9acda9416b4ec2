// (1) A window clerk finds a locked card by the holder's ID number, reads why it is locked
// (R-LK-5), is refused without the evidence the region asks for, and unlocks with it
// (R-LK-2, R-LK-4), restoring the initial not-enabled password (R-PW-7).
// usage: node clerk-unlock.mjs <base-url> <clerk-token> <card-no> <id-number>
import { run, newPage, expect, text, shot, navigate, clerkLogin } from './lib.mjs';

const [base, token, cardNo, idNumber] = process.argv.slice(2);

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/console/login`);
  await shot(page, 'console-login');
  await clerkLogin(page, base, token);

  await page.getByLabel('身份证号或社保卡号').fill(idNumber);
  await page.click('#find');
  await page.click(`a[href="/console/cards/${cardNo}"]`);
  await page.waitForURL(`**/console/cards/${cardNo}`);
  expect((await text(page, '#ss-lock')) === '已锁定', 'the social-security account shows locked');
  const why = await text(page, '#ss .lock');
  expect(why.includes('密码连续输错') && why.includes('不会自动解锁'), `the lock says why and what to do: ${why}`);
  // No password field anywhere on the clerk's card page: the holder types on the PIN pad.
  expect((await page.locator('input[type=password]').count()) === 0, 'the console never asks for a password');
  await shot(page, 'console-card-locked');

  // Without the ID checked the service refuses (R-LK-2): nothing changes.
  await page.locator('#reset-form').evaluate((f) => f.scrollIntoView());
  await page.uncheck('#reset-idchk');
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#reset-submit'));
  expect((await page.locator('#flash.flash-error').count()) === 1, 'missing evidence is refused');
  expect((await text(page, '#ss-lock')) === '已锁定', 'still locked after a refused reset');

  // With the holder present and the original ID checked, the clerk unlocks.
  await page.check('#reset-idchk');
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#reset-submit'));
  const flash = await text(page, '#flash');
  expect(flash.includes('已解锁'), `the clerk sees it done: ${flash}`);
  expect((await text(page, '#ss-lock')) === '未锁定', 'the account shows unlocked');
  expect((await text(page, '#ss')).includes('初始密码（未启用）'), 'the initial password is restored, not enabled');
  expect((await text(page, '#audit')).includes('解锁 / 重置社保密码'), 'the audit trail shows the reset');
  await shot(page, 'console-card-unlocked');

  // The English switch shows the same page in English.
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#lang-switch'));
  expect((await text(page, '#ss-lock')) === 'Not locked', 'English on request');
});
