// (2) A cardholder logs in for the first time with the initial query password, is forced to
// change it (R-PW-8), sees the balance and the ledger (R-CR-2) and reports a temporary loss
// online (R-LS-2).
// usage: node holder.mjs <base-url> <id-number> <initial-query-password> <new-query-password> <balance-yuan>
import { run, newPage, expect, text, shot, navigate } from './lib.mjs';

const [base, idNumber, initial, fresh, balance] = process.argv.slice(2);

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/portal/login`);
  expect((await page.title()).includes('个人网上服务登录'), 'the portal is in Chinese by default');
  await page.getByLabel('身份证号').fill(idNumber);
  await page.getByLabel('查询密码').fill(initial);
  await shot(page, 'portal-login');
  // Keyboard only: Enter in the password field submits (accessible forms).
  await navigate(page, '**/portal/password', () => page.press('#password', 'Enter'));
  expect((await page.locator('#forced').count()) === 1, 'the first login forces a change');

  // Until changed, the other pages send the holder back here.
  await page.goto(`${base}/portal/home`);
  await page.waitForURL('**/portal/password');
  await shot(page, 'portal-password');

  await page.getByLabel('当前查询密码').fill(initial);
  await page.getByLabel('新查询密码').fill(fresh);
  await page.getByLabel('再次输入新密码').fill(fresh);
  // Tab order reaches the submit button from the last field.
  await page.focus('#confirm');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'change', 'Tab reaches the submit button');
  await navigate(page, '**/portal/home', () => page.keyboard.press('Enter'));
  expect((await text(page, '#flash')).includes('查询密码已修改'), 'the change is confirmed');
  expect((await text(page, '#balance')).includes(balance), `the balance shows ${balance}`);
  const ledger = await text(page, '#ledger');
  expect(ledger.includes('旧医保卡余额转入') && ledger.includes(balance), `the ledger shows the transfer: ${ledger}`);
  await shot(page, 'portal-home');

  await page.getByLabel('我确认卡片已丢失，申请临时挂失').check();
  await navigate(page, '**/portal/home', () => page.click('#report-loss'));
  expect((await text(page, '#flash')).includes('已办理临时挂失'), 'the loss is confirmed');
  expect((await page.locator('#loss-in-force').count()) === 1, 'the page shows the loss in force');
  const why = await text(page, '#ss .lock');
  expect(why.includes('挂失'), `the account says it is locked by the loss: ${why}`);
  await shot(page, 'portal-home-lost');

  // The same page on a phone.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/portal/home`);
  expect((await text(phone, '#card-status')) === '已挂失', 'the phone view shows the card lost');
  await shot(phone, 'portal-home-phone');
});
