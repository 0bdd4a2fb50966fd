// Makes docs/screenshot.png for the README: two editors drawing on one board in headless
// Chromium, seen from the first editor's page (a viewer watches); and docs/phone-portrait.png and
// docs/phone-landscape.png: the same board on a phone held upright and sideways. Run after
// `cargo build`:
//   node scripts/screenshot.mjs
import { join } from 'node:path';
import {
  ROOT, createRoom, drawWithMouse, eventually, launchBrowser, openBoard, pixel, startServer,
} from '../tests/browser/harness.mjs';

const server = await startServer();
const browser = await launchBrowser();
try {
  const room = await createRoom(server.url, { name: 'Team sketch', width: 1600, height: 1000 });
  const ann = await openBoard(browser, server.url + room.edit_url, 'Ann', { width: 1280, height: 760 });
  const bob = await openBoard(browser, server.url + room.edit_url, 'Bob', { width: 1280, height: 760 });
  await openBoard(browser, server.url + room.view_url, 'Class viewer', { width: 1280, height: 760 });

  /** @param {number} cx @param {number} cy @param {number} r @param {number} a0 @param {number} a1 */
  const arc = (cx, cy, r, a0, a1, n = 24) =>
    Array.from({ length: n + 1 }, (_, i) => {
      const a = a0 + ((a1 - a0) * i) / n;
      return /** @type {[number, number]} */ ([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
    });

  // Ann: a house.
  await ann.locator('#width').fill('10');
  await drawWithMouse(ann, [[300, 700], [300, 450], [550, 260], [800, 450], [800, 700], [300, 700]]);
  await ann.locator('.swatch[data-color="#1971c2"]').click();
  await drawWithMouse(ann, [[480, 700], [480, 560], [600, 560], [600, 700]]);
  // Ann: a translucent yellow highlight in a custom color (it becomes a recent color).
  await ann.locator('#color-custom').fill('#ffd43b');
  await ann.keyboard.press('h');
  await ann.locator('#width').fill('40');
  await ann.locator('#opacity').fill('80');
  await drawWithMouse(ann, [[250, 860], [600, 850], [900, 865]]);
  await ann.keyboard.press('b');
  // Bob: a sun and grass.
  await bob.locator('.swatch[data-color="#f08c00"]').click();
  await bob.locator('#width').fill('14');
  await drawWithMouse(bob, arc(1250, 220, 90, 0, Math.PI * 2, 36));
  for (let i = 0; i < 8; i++) {
    const a = (i * Math.PI) / 4;
    await drawWithMouse(bob, [[1250 + 120 * Math.cos(a), 220 + 120 * Math.sin(a)], [1250 + 170 * Math.cos(a), 220 + 170 * Math.sin(a)]]);
  }
  await bob.locator('.swatch[data-color="#2f9e44"]').click();
  await drawWithMouse(bob, [[100, 760], [400, 740], [700, 770], [1000, 745], [1300, 765], [1500, 750]]);
  // Bob is mid-stroke in red when the picture is taken: Ann sees it live.
  await bob.locator('.swatch[data-color="#e03131"]').click();
  await drawWithMouse(bob, arc(1100, 600, 120, Math.PI, Math.PI * 1.9, 18), { release: false });
  await eventually(async () => (await pixel(ann, 'live', 1100 - 120, 600))[3] > 0, 'live stroke');
  await ann.mouse.move(900, 500);
  await new Promise((r) => setTimeout(r, 400));
  const out = join(ROOT, 'docs', 'screenshot.png');
  await ann.screenshot({ path: out });
  console.log(`wrote ${out}`);
  // The same board on phones, while Bob is still drawing.
  const phone = { hasTouch: true, isMobile: true };
  for (const [file, viewport] of /** @type {const} */ ([['phone-portrait.png', { width: 390, height: 844 }], ['phone-landscape.png', { width: 844, height: 390 }]])) {
    const page = await openBoard(browser, server.url + room.edit_url, 'Pat', viewport, phone);
    await eventually(async () => (await pixel(page, 'live', 1100 - 120, 600))[3] > 0, 'live stroke on the phone');
    await page.locator('.swatch[data-color="#1971c2"]').evaluate((b) => /** @type {HTMLElement} */ (b).click());
    const path = join(ROOT, 'docs', file);
    await page.screenshot({ path });
    console.log(`wrote ${path}`);
  }
} finally {
  await browser.close();
  await server.stop();
}
