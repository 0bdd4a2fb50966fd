// Zoom and pan: a stroke drawn zoomed in lands where the pointer was; panning never draws.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, createRoom, eventually, openBoard, pixel, useServerAndBrowser } from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/**
 * The canvas pixel under a page point, from what the page shows.
 * @param {import('playwright-core').Page} page @param {number} x @param {number} y
 */
async function canvasAt(page, x, y) {
  return page.evaluate(([px, py]) => {
    const r = /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect();
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-base'));
    return [Math.round(((px - r.left) * c.width) / r.width), Math.round(((py - r.top) * c.height) / r.height)];
  }, [x, y]);
}

test('a stroke drawn zoomed in lands where the pointer was', async () => {
  const room = await createRoom(ctx.server.url, { width: 1600, height: 1000 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  // Zoom in 3 times at a point right of centre, with the wheel.
  await page.mouse.move(700, 300);
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -300);
  const zoomText = await page.locator('#zoom-fit').textContent();
  assert.ok(Number.parseInt(zoomText ?? '0', 10) > 150, `zoomed in: ${zoomText}`);

  // Pan with space held: the view moves, nothing is drawn.
  await page.keyboard.down('Space');
  await page.mouse.move(600, 400);
  await page.mouse.down();
  await page.mouse.move(500, 350, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Space');

  // Draw a short horizontal stroke at page (520..640, 420).
  await page.mouse.move(520, 420);
  await page.mouse.down();
  await page.mouse.move(640, 420, { steps: 6 });
  await page.mouse.up();
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '1', 'one commit');
  const [x, y] = await canvasAt(page, 580, 420);
  const info = await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json();
  assert.equal(info.seq, 1, 'panning drew nothing');
  // The server's canvas has the ink exactly under the pointer's path.
  const px = await page.evaluate(async ([id, cx, cy]) => {
    const res = await fetch(`/api/rooms/${id}/canvas.png?background=transparent`);
    const bmp = await createImageBitmap(await res.blob());
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = /** @type {OffscreenCanvasRenderingContext2D} */ (c.getContext('2d'));
    g.drawImage(bmp, 0, 0);
    return Array.from(g.getImageData(Number(cx), Number(cy), 1, 1).data);
  }, [room.id, x, y]);
  assert.ok(px[3] > 200, `ink at canvas ${x},${y} under the pointer: ${px}`);
  assert.ok((await pixel(page, 'base', x, y))[3] > 200);

  await page.screenshot({ path: join(artifacts(), 'zoomed.png') });
  // Fit (0) brings the whole board back.
  await page.keyboard.press('0');
  assert.equal(await page.locator('#zoom-fit').textContent(), '100%');
  await page.screenshot({ path: join(artifacts(), 'zoom.png') });
});
