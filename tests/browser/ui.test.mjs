// The board page's controls: help panel, opacity and recent colors, theme, and the phone layout.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, openBoard, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

test('? opens the help panel listing the shortcuts; Escape closes it', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Help' });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await page.keyboard.press('?');
  const help = page.locator('#help-dialog');
  assert.ok(await help.isVisible());
  const text = (await help.textContent()) ?? '';
  for (const s of ['Pen', 'Highlighter', 'Eraser', 'Line', 'Rectangle', 'Ellipse', 'Fill', 'Undo', 'Redo', 'Zoom', 'Pan', 'Fit to screen']) {
    assert.ok(text.includes(s), `help mentions ${s}`);
  }
  const keys = await help.locator('kbd').allTextContents();
  for (const k of ['B', 'H', 'E', 'L', 'R', 'O', 'F', '[', ']', 'Z', '+', '-', '0', 'Space', 'Esc', '?']) assert.ok(keys.includes(k), `key ${k}`);
  // Shortcuts are off while it is open.
  await page.keyboard.press('e');
  assert.equal(await page.locator('.tool[data-tool=pen]').getAttribute('aria-pressed'), 'true');
  await page.screenshot({ path: join(artifacts(), 'help.png') });
  await page.keyboard.press('Escape');
  assert.equal(await help.isVisible(), false);

  // The ? button, reached with the keyboard, opens it too; focus returns to it.
  await page.locator('#help').focus();
  await page.keyboard.press('Enter');
  assert.ok(await help.isVisible());
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'help');
});

test('opacity makes strokes translucent; custom colors are remembered as recent colors', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Colors', width: 1000, height: 600 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await page.locator('#color-custom').fill('#2255aa');
  await page.locator('#opacity').fill('50');
  await page.locator('#width').fill('30');
  assert.equal(await page.locator('.opacity-value').textContent(), '50%');
  // The preview shows the color at the opacity.
  const preview = await page.locator('.width-preview').evaluate((el) => {
    const s = getComputedStyle(el);
    return { color: s.backgroundColor, opacity: s.opacity, width: s.width };
  });
  assert.deepEqual(preview, { color: 'rgb(34, 85, 170)', opacity: '0.5', width: '30px' });

  await drawWithMouse(page, [[100, 300], [900, 300]]);
  await eventually(async () => (await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq === 1, 'commit');
  const png = decodePng(Buffer.from(await (await fetch(`${ctx.server.url}/api/rooms/${room.id}/canvas.png?background=transparent`)).arrayBuffer()));
  const [r, g, b, a] = png.at(500, 300);
  assert.ok(Math.abs(a - 128) <= 3, `half opacity: ${a}`);
  assert.ok(Math.abs(r - 0x22) <= 3 && Math.abs(g - 0x55) <= 3 && Math.abs(b - 0xaa) <= 3, `the color: ${[r, g, b]}`);

  // The custom color is a recent color, also after a reload; palette colors are not repeated.
  assert.deepEqual(await page.locator('.recent-colors .swatch').evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.color)), ['#2255aa']);
  await page.locator('#color-custom').fill('#e03131');
  await page.locator('#color-custom').fill('#00aa88');
  await page.reload();
  await page.waitForSelector('body[data-synced]');
  assert.deepEqual(await page.locator('.recent-colors .swatch').evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.color)), ['#00aa88', '#2255aa']);
  await page.locator('.recent-colors .swatch[data-color="#2255aa"]').click();
  assert.equal(await page.locator('.recent-colors .swatch[data-color="#2255aa"]').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('#color-custom').inputValue(), '#2255aa');
});

test('the theme button cycles system, light and dark, remembered across pages', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Theme' });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await page.emulateMedia({ colorScheme: 'light' });
  const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const light = await bg();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme ?? 'system'), 'system');
  await page.locator('#theme').click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  await page.locator('#theme').click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const dark = await bg();
  assert.notEqual(dark, light);
  assert.match((await page.locator('#theme').getAttribute('aria-label')) ?? '', /Dark theme/);
  await page.goto(ctx.server.url);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'landing page too');
  assert.equal(await bg(), dark);
  await page.locator('#theme').click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme ?? 'system'), 'system');
  // System follows the browser's setting.
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await bg(), dark);
});

test('at phone width nothing overflows, the people drawer opens and the viewer tag is not clipped', async () => {
  const room = await createRoom(ctx.server.url, { name: 'A board with quite a long name for a phone' });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 375, height: 740 }, { hasTouch: true });
  await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vivian with a very long display name');
  await eventually(async () => (await ann.locator('.members li').count()) === 2, 'two members');
  assert.ok(await ann.evaluate(() => document.documentElement.scrollWidth <= 375), 'no horizontal scroll');
  for (const sel of ['#share', '#export', '#people-toggle', '#theme', '.tool[data-tool=pen]', '#zoom-in']) {
    assert.ok(await ann.locator(sel).isVisible(), `${sel} visible`);
  }
  assert.equal(await ann.locator('.people').isVisible(), false, 'people list collapsed');
  await ann.locator('#people-toggle').click();
  assert.equal(await ann.locator('#people-toggle').getAttribute('aria-expanded'), 'true');
  const tag = ann.locator('.member-tag');
  assert.ok(await tag.isVisible());
  const [t, p] = [await tag.boundingBox(), await ann.locator('.people').boundingBox()];
  assert.ok(t && p && t.x >= p.x && t.x + t.width <= p.x + p.width, `tag inside the panel: ${JSON.stringify([t, p])}`);
  assert.equal(await tag.evaluate((el) => el.scrollWidth <= el.clientWidth), true, 'tag text not clipped');
  assert.ok(await ann.getByRole('button', { name: /Follow Vivian/ }).isVisible());
  await ann.screenshot({ path: join(artifacts(), 'phone-people.png') });
  await ann.keyboard.press('Escape');
  assert.equal(await ann.locator('.people').isVisible(), false, 'Escape closes the drawer');
  await ann.screenshot({ path: join(artifacts(), 'phone.png') });
});

test('long names are shown whole in the people list, on a desktop and in the phone drawer', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Names' });
  const long = 'Guest 123 from the back row of the hall';
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1280, height: 800 });
  const phone = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Pat', { width: 390, height: 844 }, { hasTouch: true, isMobile: true });
  await openBoard(ctx.browser, ctx.server.url + room.view_url, long);
  await phone.locator('#people-toggle').tap();
  for (const page of [ann, phone]) {
    const row = page.locator('.members li', { hasText: long });
    await row.waitFor();
    const name = row.locator('.member-name');
    assert.equal(await name.textContent(), long);
    const clipped = await name.evaluate((el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight
      || getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth);
    assert.equal(clipped, false, 'the whole name shows');
    const panel = await page.locator('.people').boundingBox();
    for (const part of [name, row.locator('.member-tag'), row.getByRole('button', { name: /Follow/ })]) {
      const b = await part.boundingBox();
      assert.ok(b && panel && b.x >= panel.x && b.x + b.width <= panel.x + panel.width + 0.5, 'inside the panel');
    }
  }
  await ann.screenshot({ path: join(artifacts(), 'long-names.png') });
});
