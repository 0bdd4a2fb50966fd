// The Select tool in headless Chromium: a rectangle selection dragged to move, a lasso selection
// dragged to move, a corner handle to scale, and Delete, each checked in the server's canvas.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, openBoard, pixel, roomSeq, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 180 && p[1] < 90 && p[2] < 90;
const blue = (/** @type {number[]} */ p) => p[3] > 200 && p[2] > 150 && p[0] < 90;
const white = (/** @type {number[]} */ p) => p[0] > 240 && p[1] > 240 && p[2] > 240;

/** The server's canvas (over its white background). @param {string} id */
async function serverCanvas(id) {
  const res = await fetch(`${ctx.server.url}/api/rooms/${id}/canvas.png`);
  return decodePng(Buffer.from(await res.arrayBuffer()));
}

test('select a rectangle and a lasso, drag to move, scale, and Delete; the server has it', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Select', width: 1000, height: 700, background: '#ffffff' });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');

  // A filled red square and a blue one.
  await ann.locator('.swatch[data-color="#e03131"]').click();
  await ann.keyboard.press('r');
  await ann.locator('#fill-shapes').check({ force: true });
  await drawWithMouse(ann, [[100, 100], [200, 200]]);
  await eventually(async () => red(await pixel(ann, 'base', 150, 150)), 'the red square');
  await ann.locator('.swatch[data-color="#1971c2"]').click();
  await drawWithMouse(ann, [[100, 400], [200, 500]]);
  await eventually(async () => blue(await pixel(ann, 'base', 150, 450)), 'the blue square');

  // V: a rectangle around the red square, dragged 500 px right.
  await ann.keyboard.press('v');
  assert.equal(await ann.locator('.select-modes').isVisible(), true, 'the mode buttons show');
  await drawWithMouse(ann, [[90, 90], [210, 210]]);
  assert.equal(await ann.locator('.selection-layer .ants').count(), 1, 'marching ants');
  let seq = await roomSeq(ctx.server.url, room.id);
  // While dragged, the pixels float under the pointer over a hole where they were.
  await drawWithMouse(ann, [[150, 150], [400, 150], [650, 150]], { release: false });
  const floating = (/** @type {number} */ x, /** @type {number} */ y) => ann.evaluate(([fx, fy]) => {
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.selection-float'));
    return Array.from(/** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(fx, fy, 1, 1).data);
  }, [x, y]);
  assert.ok(red(await floating(650, 150)), 'the pixels float at the pointer');
  assert.ok(white(await floating(150, 150)), 'a hole where they were');
  assert.equal(await roomSeq(ctx.server.url, room.id), seq, 'nothing sent before the drop');
  await ann.mouse.up();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) > seq, 'the move committed');
  let png = await serverCanvas(room.id);
  assert.ok(white(png.at(150, 150)), 'the source is empty on the server');
  assert.ok(red(png.at(650, 150)), 'the red square is at its new place on the server');
  await eventually(async () => red(await pixel(ann, 'base', 650, 150)), 'the move in the page');

  // Its corner handle scales it to twice the size.
  seq = await roomSeq(ctx.server.url, room.id);
  await drawWithMouse(ann, [[710, 210], [800, 300], [830, 330]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) > seq, 'the scale committed');
  png = await serverCanvas(room.id);
  assert.ok(red(png.at(800, 300)), 'scaled: red reaches further on the server');

  // Lasso mode: a triangle around the blue square's lower-left half, moved up.
  await ann.locator('[data-select-mode="lasso"]').click();
  await ann.keyboard.press('Escape');
  await drawWithMouse(ann, [[95, 395], [95, 510], [210, 510], [95, 395]]);
  seq = await roomSeq(ctx.server.url, room.id);
  await drawWithMouse(ann, [[110, 480], [300, 480], [400, 480]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) > seq, 'the lasso move committed');
  png = await serverCanvas(room.id);
  assert.ok(white(png.at(110, 490)), 'the lasso took the lower-left part');
  assert.ok(blue(png.at(190, 410)), 'the upper-right part stayed');
  assert.ok(blue(png.at(410, 490)), 'the lower-left part moved 290 px right');
  await ann.screenshot({ path: join(artifacts(), 'select-lasso.png') });

  // Delete erases the (moved) lasso selection.
  seq = await roomSeq(ctx.server.url, room.id);
  await ann.keyboard.press('Delete');
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) > seq, 'the delete committed');
  png = await serverCanvas(room.id);
  assert.ok(white(png.at(410, 490)), 'deleted on the server');
  assert.ok(blue(png.at(190, 410)), 'the rest stays');
  assert.equal(await ann.locator('.selection-layer .ants').count(), 0, 'the selection is gone');
});
