// (7) A window clerk applies for an employer's insured people's cards in bulk (R-ID-3): one ID
// number a line in the employer screen's form; the page lists the cards issued, each a link to
// its card, and everyone skipped with the reason in words; the same list again issues nothing.
// Bugs it catches: a card issued for someone not insured here, already holding a card, not
// registered, listed twice or with a malformed ID number; a skipped person without the reason,
// or the reason as a code; an issued card the page does not link, or links to another card; a
// second application that issues again; a result that pushes a phone's page sideways. It
// prints the (ID number, card) pairs shown, which the driver checks through the API.
// usage: node employer-cards.mjs <base-url> <clerk-token> <employer-id> <lines-json> <issued-ids-json> <skipped-json>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, clerkLogin, args } from './lib.mjs';

const [base, token, employerId, linesJson, issuedJson, skippedJson] =
  args('base-url', 'clerk-token', 'employer-id', 'lines-json', 'issued-ids-json', 'skipped-json');
const lines = JSON.parse(linesJson);
const issuedIds = JSON.parse(issuedJson);
const skipped = JSON.parse(skippedJson);
const answered = `**/console/employers/${employerId}/card-applications`;

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);
  await navigate(page, '**/console/employers', () => page.click('#nav-employers'));
  await page.getByLabel('单位编号').fill(employerId);
  await navigate(page, `**/console/employers/${employerId}`, () => page.click('#employer-find'));
  expectEqual(await page.locator('#applied').count(), 0, 'no result before applying');

  await page.getByLabel('身份证号（每行一个）').fill(lines.join('\n'));
  await navigate(page, answered, () => page.click('#apply-submit'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'the application is done');
  const flash = await text(page, '#flash');
  expect(flash.includes(`新制卡 ${issuedIds.length} 张，未制卡 ${skipped.length} 人`), `the counts: ${flash}`);
  const issued = await cells(page, '#issued tbody tr');
  expectEqual(JSON.stringify(issued.map((r) => r[0])), JSON.stringify(issuedIds), 'a card for each insured person without one');
  expect(issued.every((r) => /^[A-Z0-9]+$/.test(r[1])), `card numbers: ${JSON.stringify(issued)}`);
  expectEqual(JSON.stringify(await cells(page, '#skipped tbody tr')), JSON.stringify(skipped), 'the others, each with the reason in words');
  await shot(page, 'console-employer-cards');

  // Each new card is a link to its own page.
  const [firstId, firstCard] = issued[0];
  await navigate(page, `**/console/cards/${firstCard}`, () => page.click(`#issued a[href="/console/cards/${firstCard}"]`));
  expectEqual(await text(page, '#card-no'), firstCard, 'the link opens that card');
  expectEqual(await text(page, '#card-status'), '已制卡未启用', 'issued, not yet activated');
  expect((await page.locator('hgroup').innerText()).includes(firstId), 'the card is the person\'s');

  // The same list again: nothing twice.
  await page.goto(`${base}/console/employers/${employerId}`);
  await page.getByLabel('身份证号（每行一个）').fill(lines.join('\n'));
  await navigate(page, answered, () => page.click('#apply-submit'));
  expectEqual(await page.locator('#flash.flash-error').count(), 1, 'nothing issued the second time');
  expect((await text(page, '#flash')).includes('本次没有制发新卡'), 'said in words');
  expectEqual(await page.locator('#issued').count(), 0, 'no card listed as issued');
  const again = await cells(page, '#skipped tbody tr');
  for (const id of issuedIds) {
    expect(again.some((r) => r[0] === id && r[1] === '已有社保卡'), `${id} now holds a card`);
  }

  // On a phone the result and the form fit the width.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/console/employers/${employerId}`);
  await phone.getByLabel('身份证号（每行一个）').fill(lines.join('\n'));
  await navigate(phone, answered, () => phone.click('#apply-submit'));
  expectEqual(await phone.locator('#skipped').count(), 1, 'the phone sees the result');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page fits a phone's width (overflow ${overflow}px)`);
  await phone.locator('#applied').scrollIntoViewIfNeeded();
  await shot(phone, 'console-employer-cards-phone');

  console.log(`issued ${JSON.stringify(issued)}`);
});
