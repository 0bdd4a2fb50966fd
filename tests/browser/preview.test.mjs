// Shapes are seen while they are dragged: a rectangle being dragged shows at the others' pages
// in its author's color, follows the pointer, is never stored, and gives way to the committed
// shape on release; a drag abandoned without a shape vanishes from the others' pages.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, eventually, liveInk, openBoard, pixel, roomSeq, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);
const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 180 && p[1] < 90 && p[2] < 90;
const blue = (/** @type {number[]} */ p) => p[3] > 200 && p[2] > 150 && p[0] < 90;

/**
 * Moves the pressed mouse to a canvas point.
 * @param {import('playwright-core').Page} page
 * @param {number} x
 * @param {number} y
 */
async function dragTo(page, x, y) {
  const p = await toPage(page, x, y);
  await page.mouse.move(p.x, p.y, { steps: 4 });
}

test('a rectangle being dragged shows live at the others, in its color, and gives way to the committed one', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Shapes live', width: 1200, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');

  await ann.locator('.swatch[data-color="#e03131"]').click();
  await ann.keyboard.press('r');
  const start = await toPage(ann, 200, 200);
  await ann.mouse.move(start.x, start.y);
  await ann.mouse.down();
  await dragTo(ann, 600, 500);
  // Bob and the viewer see it while Ann's button is still down: its top and right edges.
  for (const page of [bob, vic]) {
    await eventually(async () => red(await pixel(page, 'live', 400, 200)) && red(await pixel(page, 'live', 600, 350)), 'the preview at the others');
  }
  await bob.screenshot({ path: join(artifacts(), 'shape-preview.png') });
  // It follows Ann's pointer.
  await dragTo(ann, 800, 600);
  await eventually(async () => red(await pixel(bob, 'live', 800, 400)) && !red(await pixel(bob, 'live', 600, 350)), 'the preview follows');
  assert.equal(await roomSeq(ctx.server.url, room.id), 0, 'a preview is never stored');
  assert.equal((await pixel(bob, 'base', 400, 200))[3], 0, 'nor committed');

  // Released: the rectangle is committed, and what Bob sees is the real one, not the preview.
  await ann.mouse.up();
  for (const page of [bob, vic]) {
    await eventually(async () => red(await pixel(page, 'base', 400, 200)) && red(await pixel(page, 'base', 800, 400)), 'the committed rectangle');
    await eventually(async () => !(await liveInk(page)), 'the preview gone');
  }
  assert.equal(await roomSeq(ctx.server.url, room.id), 1);
});

test('a drag abandoned without a shape vanishes from the others\' pages', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Shapes cancelled', width: 1200, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');

  await ann.locator('.swatch[data-color="#1971c2"]').click();
  await ann.keyboard.press('o');
  const start = await toPage(ann, 300, 300);
  await ann.mouse.move(start.x, start.y);
  await ann.mouse.down();
  await dragTo(ann, 700, 600);
  await eventually(async () => blue(await pixel(bob, 'live', 500, 300)), 'the ellipse preview at Bob');
  // Back to where it started, and released: no shape.
  await ann.mouse.move(start.x, start.y, { steps: 4 });
  await ann.mouse.up();
  await eventually(async () => !(await liveInk(bob)), 'the preview gone at Bob');
  assert.equal(await liveInk(ann), false, 'and at Ann');
  // The next op is the first: the cancelled drag committed nothing.
  await ann.keyboard.press('b');
  const a = await toPage(ann, 100, 700);
  const b = await toPage(ann, 400, 720);
  await ann.mouse.move(a.x, a.y);
  await ann.mouse.down();
  await ann.mouse.move(b.x, b.y, { steps: 4 });
  await ann.mouse.up();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the stroke committed');
  await bob.locator('.board[data-seq="1"]').waitFor();
  assert.equal(await roomSeq(ctx.server.url, room.id), 1);
});
