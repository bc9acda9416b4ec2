// (9) The electronic social security card (R-KM-2, D-16) on a phone: the holder activates it
// in the portal and shows a payment code, drawn as a QR image on the server; the QR image is
// decoded here (jsQR) and must be the code's text; a pharmacy pays with the decoded code once
// (a second payment with it is refused, `code_used`); the clerk sees the electronic card active
// on the card page and deactivates it, which withdraws the holder's other code.
// Bugs it catches: a QR image that is not the code shown (or not a readable QR code at all,
// or one cut off on a phone's screen); a code page that can be cached, or whose seconds left
// come from another clock than the service's; a code that pays twice; an activation the page
// confirms but the service does not have; a page wider than the phone; a clerk's deactivation
// that leaves the holder's codes working. The driver then checks through the API what was
// recorded (the payment, the audit) and that the codes stay refused.
// usage: node holder-ecard.mjs <base-url> <id-number> <query-password> <card-no> <clerk-token> <pharmacy-token> <amount-fen> <expires-at> <seconds-left>
import jsQR from 'jsqr';
import { run, newPage, expect, expectEqual, text, shot, navigate, args, clerkLogin } from './lib.mjs';

const [base, idNumber, password, cardNo, clerk, pharmacy, amountFen, expiresAt, secondsLeft] =
  args('base-url', 'id-number', 'query-password', 'card-no', 'clerk-token', 'pharmacy-token', 'amount-fen', 'expires-at', 'seconds-left');

const PHONE = { width: 390, height: 844 };

/** POST /api/v1/purchases by the pharmacy with an electronic-card code. */
async function pay(txn, code) {
  const r = await fetch(`${base}/api/v1/purchases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pharmacy}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_txn_id: txn, ecard_code: code, amount_fen: Number(amountFen) }),
  });
  return { status: r.status, body: await r.json() };
}

/**
 * Decodes the page's QR image: the inline SVG is drawn onto a canvas at 4 px per module, as a
 * camera would see it, and its pixels are read by jsQR here in Node (no script is added to the
 * page, whose CSP admits only the server's own).
 */
async function decodeQr(page) {
  const { width, height, pixels } = await page.evaluate(async () => {
    const svg = document.querySelector('#ecard-qr svg');
    const side = svg.viewBox.baseVal.width;
    const image = new Image();
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.outerHTML)}`;
    await image.decode();
    // The image is whole modules of 8 px with a 4-module quiet zone: half of it keeps every
    // module 4 px wide.
    const scale = 0.5;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(side * scale);
    canvas.height = Math.round(side * scale);
    const g = canvas.getContext('2d');
    g.imageSmoothingEnabled = false;
    g.drawImage(image, 0, 0, canvas.width, canvas.height);
    const data = g.getImageData(0, 0, canvas.width, canvas.height);
    return { width: data.width, height: data.height, pixels: Array.from(data.data) };
  });
  const found = jsQR(Uint8ClampedArray.from(pixels), width, height, { inversionAttempts: 'dontInvert' });
  expect(found !== null, 'the QR image decodes');
  return found.data;
}

/** Opens the code page with `action` and checks what every code page must be. */
async function showCode(page, action) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/portal/ecard' && r.request().resourceType() === 'document'),
    navigate(page, '**/portal/ecard*', action),
  ]);
  expectEqual(response.status(), 200, 'the code page opens');
  expectEqual(response.headers()['cache-control'], 'no-store', 'a payment code is never cached');
  const code = await text(page, '#ecard-code');
  expect(/^[\x21-\x7e]{1,64}$/.test(code), `a code of at most 64 printable characters: ${code}`);
  // The service's (simulated) clock: a fresh code has the policy's whole validity left.
  expectEqual(await text(page, '#ecard-remaining'), secondsLeft, 'the seconds left, by the service clock');
  expectEqual(await text(page, '#ecard-expires'), expiresAt, 'valid until, Shanghai time');
  expectEqual(await decodeQr(page), code, 'the QR image is the code shown under it');
  // The whole image is on the phone's screen, and nothing widens the page.
  const box = await page.locator('#ecard-qr svg').boundingBox();
  expect(box.x >= 0 && box.x + box.width <= PHONE.width && box.width >= 200, `the QR image fits the screen: ${JSON.stringify(box)}`);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide <= PHONE.width, `the page is no wider than the phone: ${wide}`);
  return code;
}

await run(async (browser) => {
  const phone = await newPage(browser, PHONE);
  await phone.goto(`${base}/portal/login`);
  await phone.getByLabel('身份证号').fill(idNumber);
  await phone.getByLabel('查询密码').fill(password);
  await navigate(phone, '**/portal/home', () => phone.press('#password', 'Enter'));
  expectEqual(await text(phone, '#ecard-state'), '未激活', 'the electronic card starts inactive');
  expectEqual(await phone.locator('#ecard-show').count(), 0, 'no code before activation');

  await navigate(phone, '**/portal/home', () => phone.click('#ecard-activate'));
  expectEqual(await phone.locator('#flash.flash-ok').count(), 1, 'the activation is accepted');
  expect((await text(phone, '#flash')).includes('电子社保卡已激活'), 'the activation is confirmed');
  expectEqual(await text(phone, '#ecard-state'), '已激活', 'the page shows it active');
  expectEqual(await phone.locator('#ecard-activate').count(), 0, 'activation is not offered again');

  const first = await showCode(phone, () => phone.click('#ecard-show'));
  await shot(phone, 'portal-ecard');
  // "New code" makes another one, as valid as the first.
  const second = await showCode(phone, () => phone.click('#ecard-new'));
  expect(second !== first, 'a new code is another code');

  // The pharmacy scans the first code: it pays once.
  const paid = await pay('ecard-browser-1', first);
  expectEqual(paid.status, 201, `the decoded code pays: ${JSON.stringify(paid.body)}`);
  const again = await pay('ecard-browser-2', first);
  expectEqual(again.status, 409, `a used code does not pay again: ${JSON.stringify(again.body)}`);
  expectEqual(again.body.error && again.body.error.code, 'code_used', 'refused as used');
  console.log(`ecard-codes ${JSON.stringify([first, second])}`);
  console.log(`ecard-payment ${JSON.stringify(paid.body)}`);

  // The clerk sees it active and turns it off (the holder's phone is lost).
  const desk = await newPage(browser);
  await clerkLogin(desk, base, clerk);
  await desk.goto(`${base}/console/cards/${cardNo}`);
  expectEqual(await text(desk, '#ecard-state'), '已激活', 'the clerk sees the electronic card active');
  await shot(desk, 'console-card-ecard');
  await desk.click('#ecard-deactivate-summary');
  await navigate(desk, `**/console/cards/${cardNo}`, () => desk.click('#ecard-deactivate-submit'));
  expect((await text(desk, '#flash')).includes('电子社保卡已停用'), 'the deactivation is confirmed');
  expectEqual(await text(desk, '#ecard-state'), '未激活', 'the card page shows it inactive');
  expectEqual(await desk.locator('#ecard-activate-form').count(), 1, 'and offers its activation');

  // The holder's page follows: no code to show, and the code page sends back home.
  await phone.goto(`${base}/portal/home`);
  expectEqual(await text(phone, '#ecard-state'), '未激活', 'the holder sees it inactive');
  expectEqual(await phone.locator('#ecard-show').count(), 0, 'no code to show');
  await phone.goto(`${base}/portal/ecard`);
  expectEqual(new URL(phone.url()).pathname, '/portal/home', 'no code page for an inactive card');
  expect((await text(phone, '#flash.flash-error')).includes('电子社保卡未激活'), 'the refusal is said');
  const withdrawn = await pay('ecard-browser-3', second);
  expectEqual(withdrawn.status, 422, `the unused code is withdrawn: ${JSON.stringify(withdrawn.body)}`);
  expectEqual(withdrawn.body.error && withdrawn.body.error.code, 'invalid_code', 'refused as no code');
});
