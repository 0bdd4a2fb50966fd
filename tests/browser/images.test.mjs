// Images end to end in headless Chromium: pasted from the clipboard, dropped as a file and
// chosen with the Image button; moved and resized (the corner keeps the aspect ratio) before
// placing; placed with Enter or a click outside; and then in the server's canvas.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, eventually, openBoard, pixel, roomSeq, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 200 && p[1] < 60 && p[2] < 60;
const blue = (/** @type {number[]} */ p) => p[3] > 200 && p[2] > 200 && p[0] < 60 && p[1] < 60;
const white = (/** @type {number[]} */ p) => p[0] > 245 && p[1] > 245 && p[2] > 245;

/**
 * The server's canvas, decoded.
 * @param {string} id
 */
async function serverCanvas(id) {
  const res = await fetch(`${ctx.server.url}/api/rooms/${id}/canvas.png`);
  return decodePng(Buffer.from(await res.arrayBuffer()));
}

/**
 * Where the image being placed will land: [x, y, width, height] in canvas pixels.
 * @param {import('playwright-core').Page} page
 */
async function placing(page) {
  const rect = await page.locator('.image-placer:not(.pending)').getAttribute('data-rect');
  return (rect ?? '').split(',').map(Number);
}

/**
 * A script that makes a PNG file of one color in the page (so no test file is needed).
 * @param {string} color
 * @param {number} width
 * @param {number} height
 */
function makeFileScript(color, width, height) {
  return `(async () => {
    const c = document.createElement('canvas');
    c.width = ${width}; c.height = ${height};
    const g = c.getContext('2d');
    g.fillStyle = '${color}';
    g.fillRect(0, 0, ${width}, ${height});
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    return new File([blob], 'picture.png', { type: 'image/png' });
  })()`;
}

test('a pasted image is moved, resized keeping its shape, placed with Enter, and lands in the server', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Paste', width: 800, height: 500, background: '#ffffff' });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');

  await ann.evaluate(async (script) => {
    const file = await (0, eval)(script);
    const data = new DataTransfer();
    data.items.add(file);
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, makeFileScript('#ff0000', 200, 100));
  await ann.locator('.image-placer').waitFor();
  const [x0, y0, w0, h0] = await placing(ann);
  assert.equal(w0, 200, 'shown at its own size');
  assert.equal(h0, 100);
  assert.equal(await roomSeq(ctx.server.url, room.id), 0, 'nothing committed while placing');

  // Drag it 100 px right and 50 px down (canvas pixels).
  const from = await toPage(ann, x0 + 100, y0 + 50);
  const to = await toPage(ann, x0 + 200, y0 + 100);
  await ann.mouse.move(from.x, from.y);
  await ann.mouse.down();
  await ann.mouse.move(to.x, to.y, { steps: 5 });
  await ann.mouse.up();
  const [x1, y1] = await placing(ann);
  assert.ok(Math.abs(x1 - (x0 + 100)) <= 2 && Math.abs(y1 - (y0 + 50)) <= 2, `moved: ${x1},${y1}`);

  // Drag the bottom-right corner out, mostly sideways: it grows keeping 2:1.
  const corner = ann.locator('.image-handle[data-corner=se]');
  const box = await corner.boundingBox();
  assert.ok(box);
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const end = await toPage(ann, x1 + 300, y1 + 110);
  await ann.mouse.move(start.x, start.y);
  await ann.mouse.down();
  await ann.mouse.move(end.x, end.y, { steps: 5 });
  await ann.mouse.up();
  const [x2, y2, w2, h2] = await placing(ann);
  assert.deepEqual([x2, y2], [x1, y1], 'the opposite corner stays');
  assert.ok(Math.abs(w2 - 300) <= 3, `resized to ${w2}`);
  assert.ok(Math.abs(w2 / h2 - 2) < 0.03, `keeps 2:1: ${w2}x${h2}`);
  assert.equal(await roomSeq(ctx.server.url, room.id), 0, 'moving and resizing commit nothing');
  await ann.screenshot({ path: join(artifacts(), 'images-placing.png') });

  await ann.keyboard.press('Enter');
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the image op committed');
  const canvas = await serverCanvas(room.id);
  assert.ok(red(canvas.at(x2 + 5, y2 + 5)) && red(canvas.at(x2 + w2 - 5, y2 + h2 - 5)), 'the server has it, all of it');
  assert.ok(white(canvas.at(x2 + w2 + 5, y2 + 5)) && white(canvas.at(x2 - 5, y2 + h2 / 2)), 'and nothing around it');
  await eventually(async () => red(await pixel(ann, 'base', x2 + w2 / 2, y2 + h2 / 2)), 'the page shows the server tiles');
  await eventually(async () => (await ann.locator('.image-placer').count()) === 0, 'the placer goes');
});

test('a dropped image is placed by a click outside, which draws nothing; Escape leaves one out', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Drop', width: 800, height: 500, background: '#ffffff' });
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');
  const at = await toPage(bob, 300, 200);
  await bob.evaluate(async ([script, x, y]) => {
    const file = await (0, eval)(String(script));
    const data = new DataTransfer();
    data.items.add(file);
    const stage = /** @type {HTMLElement} */ (document.querySelector('.stage'));
    const init = { dataTransfer: data, clientX: Number(x), clientY: Number(y), bubbles: true, cancelable: true };
    stage.dispatchEvent(new DragEvent('dragover', init));
    stage.dispatchEvent(new DragEvent('drop', init));
  }, [makeFileScript('#0000ff', 120, 80), at.x, at.y]);
  await bob.locator('.image-placer').waitFor();
  const [x, y, w, h] = await placing(bob);
  assert.deepEqual([w, h], [120, 80], 'at its own size');
  assert.ok(Math.abs(x + w / 2 - 300) <= 1 && Math.abs(y + h / 2 - 200) <= 1, `centred where it was dropped: ${x},${y}`);

  // A click on the board away from it places it, and draws no dot there.
  const outside = await toPage(bob, 650, 420);
  await bob.mouse.click(outside.x, outside.y);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the image op committed');
  const canvas = await serverCanvas(room.id);
  assert.ok(blue(canvas.at(300, 200)), 'the image is in the server canvas');
  assert.ok(white(canvas.at(650, 420)), 'the click drew nothing');

  // The Image button opens a file chooser; Escape leaves the chosen image out.
  const [chooser] = await Promise.all([bob.waitForEvent('filechooser'), bob.locator('#add-image').click()]);
  const png = await bob.evaluate(async (script) => {
    const file = await (0, eval)(script);
    return Array.from(new Uint8Array(await file.arrayBuffer()));
  }, makeFileScript('#ff0000', 60, 60));
  await chooser.setFiles({ name: 'red.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await bob.locator('.image-placer').waitFor();
  await bob.keyboard.press('Escape');
  await eventually(async () => (await bob.locator('.image-placer').count()) === 0, 'left out');
  assert.equal(await roomSeq(ctx.server.url, room.id), 1, 'nothing more committed');
});

test("the board's owner, whose address has no edit key, adds an image with the owner key", async () => {
  const room = await createRoom(ctx.server.url, { name: 'Owner', width: 800, height: 500, background: '#ffffff' });
  const owner = await openBoard(ctx.browser, ctx.server.url + room.owner_url, 'Olga');
  await owner.evaluate(async (script) => {
    const data = new DataTransfer();
    data.items.add(await (0, eval)(script));
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, makeFileScript('#0000ff', 100, 100));
  await owner.locator('.image-placer').waitFor();
  const [x, y] = await placing(owner);
  await owner.keyboard.press('Enter');
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the image op committed');
  assert.ok(blue((await serverCanvas(room.id)).at(x + 50, y + 50)), 'the image is in the server canvas');
});
