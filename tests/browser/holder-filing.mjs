// (5) A cardholder files an out-of-area emergency admission online (R-MS-3): the page states
// the 3-working-day limit, the filing is accepted with its deadline; the admission day may not
// lie in the future.
// usage: node holder-filing.mjs <base-url> <id-number> <query-password> <region> <admitted-on> <deadline>
import { run, newPage, expect, text, shot, navigate } from './lib.mjs';

const [base, idNumber, password, region, admittedOn, deadline] = process.argv.slice(2);

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/portal/login`);
  await page.getByLabel('身份证号').fill(idNumber);
  await page.getByLabel('查询密码').fill(password);
  await navigate(page, '**/portal/home', () => page.press('#password', 'Enter'));

  const section = await text(page, 'section[aria-labelledby=filing-title]');
  expect(section.includes('3 个工作日内'), `the limit is stated: ${section}`);
  expect((await page.getAttribute('#filing-admitted', 'max')) === '2026-04-09', 'no admission day in the future');
  await page.getByLabel('备案类型').selectOption('emergency');
  await page.getByLabel('就医地区代码').fill(region);
  await page.getByLabel('入院日期').fill(admittedOn);
  await navigate(page, '**/portal/home', () => page.click('#filing-submit'));
  const flash = await text(page, '#flash');
  expect(flash.includes('备案已受理') && flash.includes(deadline), `accepted with its deadline: ${flash}`);
  await shot(page, 'portal-filing');
});
