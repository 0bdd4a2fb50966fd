// Tools end to end in headless Chromium: keyboard undo/redo under another user's stroke, fill,
// shapes and eraser, each seen by a second editor through the server's tiles.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 180 && p[1] < 90 && p[2] < 90;
const blue = (/** @type {number[]} */ p) => p[3] > 200 && p[2] > 150 && p[0] < 90;
const green = (/** @type {number[]} */ p) => p[3] > 200 && p[1] > 120 && p[0] < 90 && p[2] < 110;
const empty = (/** @type {number[]} */ p) => p[3] === 0;

test('undo, redo, fill, shapes and eraser reach the other editor', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Tools', width: 1000, height: 700 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');

  // Ann draws red, Bob draws blue across it.
  await ann.locator('.swatch[data-color="#e03131"]').click();
  await drawWithMouse(ann, [[100, 300], [500, 300], [900, 300]]);
  await bob.locator('.swatch[data-color="#1971c2"]').click();
  await drawWithMouse(bob, [[500, 100], [500, 600]]);
  await eventually(async () => red(await pixel(bob, 'base', 200, 300)), "Ann's stroke at Bob");
  await eventually(async () => blue(await pixel(ann, 'base', 500, 500)), "Bob's stroke at Ann");
  assert.equal(await ann.locator('#undo').isEnabled(), true);
  assert.equal(await ann.locator('#redo').isEnabled(), false);

  // Ctrl+Z: Ann's stroke disappears for both; Bob's stays, also where they crossed.
  await ann.keyboard.press('Control+z');
  for (const page of [ann, bob]) {
    await eventually(async () => empty(await pixel(page, 'base', 200, 300)), 'undone stroke gone');
    assert.ok(blue(await pixel(page, 'base', 500, 300)), "Bob's stroke stays where they crossed");
  }
  await eventually(async () => !(await ann.locator('#undo').isEnabled()), 'undo disabled');
  assert.equal(await ann.locator('#redo').isEnabled(), true);

  // Shift+Ctrl+Z brings it back.
  await ann.keyboard.press('Control+Shift+z');
  await eventually(async () => red(await pixel(bob, 'base', 200, 300)), 'redone stroke back at Bob');

  // A rectangle (R) and a fill inside it (F), in green.
  await ann.locator('.swatch[data-color="#2f9e44"]').click();
  await ann.keyboard.press('r');
  await drawWithMouse(ann, [[650, 400], [950, 650]]);
  await eventually(async () => green(await pixel(bob, 'base', 800, 400)), 'rectangle outline at Bob');
  assert.ok(empty(await pixel(bob, 'base', 800, 520)), 'outlined, not filled');
  await ann.keyboard.press('f');
  const inside = await toPage(ann, 800, 520);
  await ann.mouse.click(inside.x, inside.y);
  await eventually(async () => green(await pixel(bob, 'base', 800, 520)), 'fill inside the rectangle at Bob');
  // The fill spans four tiles; every one of them arrives.
  for (const [x, y] of [[700, 450], [900, 450], [700, 600], [900, 600]]) {
    await eventually(async () => green(await pixel(bob, 'base', x, y)), `fill at ${x},${y} at Bob`);
  }
  assert.ok(empty(await pixel(bob, 'base', 600, 520)), 'the fill stays inside');

  // The eraser (E) cuts through Bob's blue line for everyone.
  await ann.keyboard.press('e');
  await drawWithMouse(ann, [[440, 450], [560, 450]]);
  await eventually(async () => empty(await pixel(bob, 'base', 500, 450)), 'erased at Bob');
  assert.ok(blue(await pixel(bob, 'base', 500, 550)), 'the rest of the line stays');

  const dir = artifacts();
  await ann.screenshot({ path: join(dir, 'tools-ann.png') });
  await bob.screenshot({ path: join(dir, 'tools-bob.png') });
});

test("Clear asks in the page's own dialog, and Cancel clears nothing", async () => {
  const room = await createRoom(ctx.server.url, { name: 'Clear', width: 1000, height: 700 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  /** Native dialogs (confirm, alert) the page opened. @type {string[]} */
  const native = [];
  ann.on('dialog', (d) => {
    native.push(d.message());
    d.dismiss().catch(() => {});
  });
  await ann.locator('.swatch[data-color="#e03131"]').click();
  await drawWithMouse(ann, [[100, 300], [900, 300]]);
  await eventually(async () => red(await pixel(ann, 'base', 500, 300)), 'the stroke');

  await ann.locator('#clear').click();
  const dialog = ann.locator('#clear-dialog');
  await dialog.waitFor();
  assert.deepEqual(native, [], 'no native confirm');
  assert.match((await dialog.textContent()) ?? '', /Clear the board\?.*for everyone.*undo/s);
  await ann.screenshot({ path: join(artifacts(), 'clear-dialog.png') });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await dialog.isVisible(), false);
  assert.equal(await ann.evaluate(() => document.activeElement?.id), 'clear', 'the focus goes back to Clear');

  await ann.locator('#clear').click();
  await dialog.getByRole('button', { name: 'Clear board' }).click();
  await eventually(async () => empty(await pixel(ann, 'base', 500, 300)), 'cleared');
  // The clear is the second op: Cancel committed nothing.
  assert.equal((await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq, 2);
  assert.deepEqual(native, []);
});
