// (6) A cardholder reads the contribution record month by month (R-CR-2) and their own trail
// (R-PW-9) in the portal, on a desktop and on a phone, in Chinese and in English.
// Bugs it catches: a record that differs from the API's (a month missing or twice, fen shown as
// yuan or yuan as fen, a month credited before the tax bureau's data came back, the wrong
// employer); a trail without the holder's own login just made, a purchase or visit that does
// not say how the holder was identified (the password, or the card for a visit), someone
// else's records; tables that push a phone's page sideways; no English. It prints the trail's
// action codes (newest first) for the driver, which compares them with GET /self/audit.
// The window clerk's page of the holder's card shows the same record, each employer a link.
// usage: node holder-records.mjs <base-url> <id-number> <query-password> <card-no> <expected-rows-json> <clerk-token>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, clerkLogin, args } from './lib.mjs';

const [base, idNumber, password, cardNo, expectedJson, clerkToken] =
  args('base-url', 'id-number', 'query-password', 'card-no', 'expected-rows-json', 'clerk-token');
const expected = JSON.parse(expectedJson);

/** The page fits the phone's width: only the tables' own boxes may scroll. */
async function fitsPhone(phone) {
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const culprits = await phone.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 12).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).join('\n'));
  expect(overflow <= 0, `the page fits a phone's width (overflow ${overflow}px):\n${culprits}`);
}

await run(async (browser) => {
  const page = await newPage(browser);
  await page.goto(`${base}/portal/login`);
  await page.getByLabel('身份证号').fill(idNumber);
  await page.getByLabel('查询密码').fill(password);
  await navigate(page, '**/portal/home', () => page.press('#password', 'Enter'));
  expectEqual(await text(page, '#card-no'), cardNo, 'the holder\'s own card');

  // The contribution record, linked from home.
  await navigate(page, '**/portal/contributions', () => page.click('#nav-contributions'));
  expect((await page.title()).includes('我的缴费记录'), 'the record\'s page, in Chinese');
  const rows = await cells(page, '#contributions tbody tr');
  expectEqual(JSON.stringify(rows), JSON.stringify(expected), 'the record is the API\'s, month by month, newest first');
  expect(rows.some((r) => r[7] === '尚未划入') && rows.some((r) => /^\d{4}-\d{2}-\d{2}$/.test(r[7])),
    'credited months show the day, the others "not yet"');
  await shot(page, 'portal-contributions');

  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/portal/contributions`);
  expectEqual(JSON.stringify(await cells(phone, '#contributions tbody tr')), JSON.stringify(expected), 'the same record on a phone');
  // On a phone each month is a block of "label value" lines: the header row is out of sight.
  expectEqual(await phone.locator('#contributions thead').evaluate((h) => h.getBoundingClientRect().height <= 1), true, 'no header row on a phone');
  const label = await phone.locator('#contributions tbody tr:first-child td:nth-child(4)').evaluate((td) => getComputedStyle(td, '::before').content);
  expectEqual(label, '"核定应缴（元）"', 'each figure is labelled on a phone');
  await fitsPhone(phone);
  await shot(phone, 'portal-contributions-phone');

  // The holder's own trail, newest first.
  await navigate(page, '**/portal/home', () => page.click('#back-home'));
  await navigate(page, '**/portal/trail', () => page.click('#nav-trail'));
  const trail = await cells(page, '#trail tbody tr');
  const codes = await page.locator('#trail tbody tr td:nth-child(2)').evaluateAll((tds) => tds.map((td) => td.title));
  expectEqual(codes.length, trail.length, 'every row names its action');
  expectEqual(JSON.stringify(trail[0].slice(1, 5)), JSON.stringify(['网上登录', '成功', '本人', '网上']), 'the newest record is this login, the holder\'s own');
  const purchases = trail.filter((r) => r[1] === '药店购药');
  expectEqual(purchases.length, 1, `one purchase: ${JSON.stringify(trail)}`);
  expect(purchases[0][3].startsWith('定点药店 '), `by the pharmacy: ${purchases[0][3]}`);
  expectEqual(purchases[0][4], '定点药店', 'at the pharmacy');
  expectEqual(purchases[0][5], '凭社保密码', 'with the password');
  const visits = trail.filter((r) => r[1] === '医院就诊');
  expectEqual(visits.length, 1, 'one visit');
  expectEqual(visits[0][5], '凭卡（就诊无需密码）', 'a visit needs no password');
  expect(trail.every((r) => r[1] === '药店购药' || r[1] === '医院就诊' || r[5] === '—'), 'only payments say how the holder was identified');
  await shot(page, 'portal-trail');

  await phone.goto(`${base}/portal/trail`);
  expectEqual((await cells(phone, '#trail tbody tr')).length, trail.length, 'the same trail on a phone');
  await fitsPhone(phone);
  await shot(phone, 'portal-trail-phone');

  await navigate(page, '**/portal/trail', () => page.click('#lang-switch'));
  const english = await cells(page, '#trail tbody tr');
  const bought = english.filter((r) => r[1] === 'Pharmacy purchase');
  expectEqual(bought.length, 1, 'English on request');
  expectEqual(bought[0][5], 'The social-security password', 'how, in English');

  // The clerk sees the holder's record on the card page.
  const clerk = await newPage(browser);
  await clerkLogin(clerk, base, clerkToken);
  await clerk.goto(`${base}/console/cards/${cardNo}`);
  expectEqual(JSON.stringify(await cells(clerk, '#contributions tbody tr')), JSON.stringify(expected), 'the clerk sees the same record');
  const employer = expected[0][1];
  expectEqual(await clerk.locator(`#contributions a[href="/console/employers/${employer}"]`).count(), expected.length, 'each month links its employer');
  await clerk.locator('#contributions').scrollIntoViewIfNeeded();
  await shot(clerk, 'console-card-contributions');

  console.log(`trail-actions ${JSON.stringify(codes)}`);
});
