// (5) A cardholder files an out-of-area emergency admission online (R-MS-3): the page states
// the 3-working-day limit, the filing is accepted with its deadline; the admission day may not
// lie in the future.
// Bugs it catches: the limit not stated; a date field that offers days after today; the
// filing refused, or accepted with a deadline counted in calendar days or without the Qingming
// holiday (Apr 3 + 3 working days is Apr 9, not Apr 6 or Apr 8). The driver then checks
// through the API that this filing is on record and lets the far hospital settle the stay.
// usage: node holder-filing.mjs <base-url> <id-number> <query-password> <region> <admitted-on> <deadline> <today>
import { run, newPage, expect, expectEqual, text, shot, navigate, args } from './lib.mjs';

const [base, idNumber, password, region, admittedOn, deadline, today] =
  args('base-url', 'id-number', 'query-password', 'region', 'admitted-on', 'deadline', 'today');

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/portal/login`);
  await page.getByLabel('身份证号').fill(idNumber);
  await page.getByLabel('查询密码').fill(password);
  await navigate(page, '**/portal/home', () => page.press('#password', 'Enter'));

  const section = await text(page, 'section[aria-labelledby=filing-title]');
  expect(section.includes('3 个工作日内'), `the limit is stated: ${section}`);
  expectEqual(await page.getAttribute('#filing-admitted', 'max'), today, 'no admission day in the future');
  await page.getByLabel('备案类型').selectOption('emergency');
  await page.getByLabel('就医地区代码').fill(region);
  await page.getByLabel('入院日期').fill(admittedOn);
  await navigate(page, '**/portal/home', () => page.click('#filing-submit'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'the filing is not refused');
  const flash = await text(page, '#flash');
  expect(flash.includes('备案已受理') && flash.includes(deadline), `accepted with its deadline ${deadline}: ${flash}`);
  await shot(page, 'portal-filing');
});
