// (2) A cardholder logs in for the first time with the initial query password, is forced to
// change it (R-PW-8), sees the balance and the ledger (R-CR-2) and reports a temporary loss
// online (R-LS-2).
// Bugs it catches: a first login that goes straight to the home page, or home reachable
// before the change (R-PW-8); a form that only the mouse can submit; another holder's card, a
// balance off by a factor of 100 or a ledger without the old card's transfer (R-CR-2); a loss
// the page confirms but does not show, or shows without locking the social-security account
// (R-LS-2); a phone view that reads stale state. The driver then checks through the API that
// the query password really changed and the loss is on the card.
// usage: node holder.mjs <base-url> <id-number> <initial-query-password> <new-query-password> <card-no> <balance-yuan>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, args } from './lib.mjs';

const [base, idNumber, initial, fresh, cardNo, balance] =
  args('base-url', 'id-number', 'initial-query-password', 'new-query-password', 'card-no', 'balance-yuan');

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/portal/login`);
  expect((await page.title()).includes('个人网上服务登录'), 'the portal is in Chinese by default');
  await page.getByLabel('身份证号').fill(idNumber);
  await page.getByLabel('查询密码').fill(initial);
  await shot(page, 'portal-login');
  // Keyboard only: Enter in the password field submits (accessible forms).
  await navigate(page, '**/portal/password', () => page.press('#password', 'Enter'));
  expectEqual(await page.locator('#forced').count(), 1, 'the first login forces a change');

  // Until changed, the other pages send the holder back here.
  await page.goto(`${base}/portal/home`);
  expectEqual(new URL(page.url()).pathname, '/portal/password', 'home sends the holder back to the change');
  expectEqual(await page.locator('#balance').count(), 0, 'no balance before the change');
  await shot(page, 'portal-password');

  await page.getByLabel('当前查询密码').fill(initial);
  await page.getByLabel('新查询密码').fill(fresh);
  await page.getByLabel('再次输入新密码').fill(fresh);
  // Tab order reaches the submit button from the last field.
  await page.focus('#confirm');
  await page.keyboard.press('Tab');
  expectEqual(await page.evaluate(() => document.activeElement && document.activeElement.id), 'change', 'Tab reaches the submit button');
  await navigate(page, '**/portal/home', () => page.keyboard.press('Enter'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'the change is accepted');
  expect((await text(page, '#flash')).includes('查询密码已修改'), 'the change is confirmed');
  expectEqual(await text(page, '#card-no'), cardNo, 'the holder sees their own card');
  expectEqual(await text(page, '#balance'), `${balance} 元`, 'the balance');
  const transfers = (await cells(page, '#ledger tbody tr')).filter((r) => r[1] === '旧医保卡余额转入');
  expectEqual(transfers.length, 1, `the ledger shows the transfer once: ${JSON.stringify(transfers)}`);
  const [, , amount, after, onCard] = transfers[0];
  expect(amount.endsWith(balance), `the transfer's amount is ${balance}: ${amount}`);
  expectEqual(after, balance, 'the balance after the transfer');
  expectEqual(onCard, cardNo, 'on the holder\'s card');
  expectEqual(await page.locator('#loss-in-force').count(), 0, 'no loss yet');
  await shot(page, 'portal-home');

  await page.getByLabel('我确认卡片已丢失，申请临时挂失').check();
  await navigate(page, '**/portal/home', () => page.click('#report-loss'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'the loss is accepted');
  expect((await text(page, '#flash')).includes('已办理临时挂失'), 'the loss is confirmed');
  expectEqual(await page.locator('#loss-in-force').count(), 1, 'the page shows the loss in force');
  expectEqual(await text(page, '#card-status'), '已挂失', 'the card shows lost');
  const why = await text(page, '#ss .lock');
  expect(why.includes('挂失'), `the account says it is locked by the loss: ${why}`);
  await shot(page, 'portal-home-lost');

  // The same page on a phone.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/portal/home`);
  expectEqual(await text(phone, '#card-status'), '已挂失', 'the phone view shows the card lost');
  await shot(phone, 'portal-home-phone');
});
