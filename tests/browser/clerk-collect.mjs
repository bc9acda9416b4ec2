// (8) A window clerk hands over a replacement card (R-LS-5) in Xi'an, whose policy asks the
// employer's letter of the holder in person too (R-LK-4, 001): the checklist asks the letter
// beside the holder's ID and the pickup certificate (领卡证明); without the certificate the
// service refuses and the page names what is missing; with it the card is collected.
// Bugs it catches: no pickup certificate on the checklist, or the letter hidden in the agent's
// part; a refusal that does not name the missing piece, or names it as a code; a refused
// collection that the page shows as collected; a collection the audit trail shows without the
// certificate. The driver then checks through the API that the card is collected, once, with
// this evidence, and can be activated.
// usage: node clerk-collect.mjs <base-url> <clerk-token> <old-card-no> <new-card-no>
import { run, newPage, expect, expectEqual, text, cells, shot, navigate, clerkLogin, args } from './lib.mjs';

const [base, token, oldCard, newCard] = args('base-url', 'clerk-token', 'old-card-no', 'new-card-no');

/** The audit rows of collections: [time, who, channel, action, outcome, evidence, detail]. */
async function collections(page) {
  return (await cells(page, '#audit tbody tr')).filter((r) => r[3] === '领取新卡');
}

await run(async (browser) => {
  const page = await newPage(browser);
  await clerkLogin(page, base, token);
  // The holder brings the old card: its page leads to the new one.
  await page.getByLabel('身份证号或社保卡号').fill(oldCard);
  await navigate(page, `**/console/cards/${oldCard}`, () => page.click('#find'));
  await navigate(page, `**/console/cards/${newCard}`, () => page.locator(`a[href="/console/cards/${newCard}"]`).first().click());
  expectEqual(await text(page, '#collected-at'), '未领取', 'not collected yet');

  // The checklist: the holder's ID, the employer's letter (asked of the holder too, here) and
  // the pickup certificate, all in sight without opening the agent's part.
  const form = page.locator('#collect-form');
  expect(await form.locator('#collect-letter').isVisible(), 'the letter is asked beside the holder\'s ID');
  expect((await form.locator('label[for=collect-letter]').innerText()).includes('本人办理也须提供'), 'the letter says the holder brings it too');
  expect(await form.locator('#collect-pickup').isVisible(), 'the pickup certificate is on the checklist');
  expect(await page.isChecked('#collect-present'), 'the holder is present by default');

  // Without the certificate: refused, the piece named.
  await page.check('#collect-idchk');
  await page.check('#collect-letter');
  await navigate(page, `**/console/cards/${newCard}`, () => page.click('#collect-submit'));
  expectEqual(await page.locator('#flash.flash-error').count(), 1, 'refused without the certificate');
  const refused = await text(page, '#flash');
  expect(refused.includes('领取补卡须出示领卡证明'), `the missing piece is named: ${refused}`);
  expect(!refused.includes('pickup_certificate'), `in words, not a code: ${refused}`);
  expectEqual(await text(page, '#collected-at'), '未领取', 'still not collected');
  expectEqual((await collections(page)).length, 0, 'a refused collection records none');
  await page.locator('#collect-form').scrollIntoViewIfNeeded();
  await shot(page, 'console-card-collect-refused');

  // With it: collected.
  await page.check('#collect-idchk');
  await page.check('#collect-letter');
  await page.check('#collect-pickup');
  await navigate(page, `**/console/cards/${newCard}`, () => page.click('#collect-submit'));
  expectEqual(await page.locator('#flash.flash-ok').count(), 1, 'collected');
  expect((await text(page, '#flash')).includes('新卡已领取'), 'said in words');
  expect(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(await text(page, '#collected-at')), 'the collection time is shown');
  expectEqual(await page.locator('#collect-form').count(), 0, 'nothing left to collect');
  const done = await collections(page);
  expectEqual(done.length, 1, 'the audit trail shows the collection once');
  expectEqual(done[0][4], '成功', 'done');
  expect(done[0][5].includes('已收领卡证明') && done[0][5].includes('已收单位证明'), `with the evidence: ${done[0][5]}`);
  await shot(page, 'console-card-collected');
});
