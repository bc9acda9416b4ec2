// (1) A window clerk finds a locked card by the holder's ID number, reads why it is locked
// (R-LK-5), is refused without the evidence the region asks for, and unlocks with it
// (R-LK-2, R-LK-4), restoring the initial not-enabled password (R-PW-7).
// Bugs it catches: the search not finding a card by ID number; a lock shown without its reason
// or with the wrong one; a console that asks the clerk for the holder's password; a reset that
// goes through without the ID checked (R-LK-2) or that the page claims done while the account
// stays locked; a reset that leaves the chosen password enabled instead of the initial one
// (R-PW-7); the audit trail missing the reset or showing it under another channel (R-PW-9).
// The driver then checks through the API that the service recorded exactly this.
// usage: node clerk-unlock.mjs <base-url> <clerk-token> <card-no> <id-number>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, clerkLogin, args } from './lib.mjs';

const [base, token, cardNo, idNumber] = args('base-url', 'clerk-token', 'card-no', 'id-number');

/** The audit rows of the ss-password reset: [time, who, channel, action, outcome, evidence, detail]. */
async function resets(page) {
  return (await cells(page, '#audit tbody tr')).filter((r) => r[3] === '解锁 / 重置社保密码');
}

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/console/login`);
  await shot(page, 'console-login');
  await clerkLogin(page, base, token);

  await page.getByLabel('身份证号或社保卡号').fill(idNumber);
  await page.click('#find');
  const link = page.locator(`a[href="/console/cards/${cardNo}"]`);
  await link.first().waitFor();
  expectEqual(await link.count(), 1, 'the ID number finds the card once');
  await navigate(page, `**/console/cards/${cardNo}`, () => link.click());
  expectEqual(await text(page, '#ss-lock'), '已锁定', 'the social-security account shows locked');
  const why = await text(page, '#ss .lock');
  expect(why.includes('密码连续输错') && why.includes('不会自动解锁'), `the lock says why and what to do: ${why}`);
  // No password field anywhere on the clerk's card page: the holder types on the PIN pad.
  expectEqual(await page.locator('input[type=password]').count(), 0, 'the console never asks for a password');
  expectEqual((await resets(page)).length, 0, 'no reset in the audit trail yet');
  await shot(page, 'console-card-locked');

  // Without the ID checked the service refuses (R-LK-2): nothing changes.
  await page.locator('#reset-form').evaluate((f) => f.scrollIntoView());
  await page.uncheck('#reset-idchk');
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#reset-submit'));
  expectEqual(await page.locator('#flash.flash-error').count(), 1, 'missing evidence is refused');
  expectEqual(await text(page, '#ss-lock'), '已锁定', 'still locked after a refused reset');
  expectEqual((await resets(page)).length, 0, 'a refused reset records no reset');

  // With the holder present and the original ID checked, the clerk unlocks.
  await page.check('#reset-idchk');
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#reset-submit'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'no error this time');
  const flash = await text(page, '#flash');
  expect(flash.includes('已解锁'), `the clerk sees it done: ${flash}`);
  expectEqual(await text(page, '#ss-lock'), '未锁定', 'the account shows unlocked');
  expect((await text(page, '#ss')).includes('初始密码（未启用）'), 'the initial password is restored, not enabled');
  const done = await resets(page);
  expectEqual(done.length, 1, `the audit trail shows the reset once: ${JSON.stringify(done)}`);
  expectEqual(done[0][2], '服务窗口', 'at the service window');
  expectEqual(done[0][4], '成功', 'done');
  await shot(page, 'console-card-unlocked');

  // The English switch shows the same page in English.
  await navigate(page, `**/console/cards/${cardNo}`, () => page.click('#lang-switch'));
  expectEqual(await text(page, '#ss-lock'), 'Not locked', 'English on request');
});
