// Zoom and pan: a stroke drawn zoomed in lands where the pointer was; panning never draws; the
// percentage is of actual size (100% is one board pixel per CSS pixel); the wheel pans and
// Ctrl + wheel zooms in small steps.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, ctrlWheel, eventually, openBoard, pixel, roomSeq, useServerAndBrowser, viewOf, zoomLevel,
} from './harness.mjs';

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

/** The board's width on screen, in CSS pixels. @param {import('playwright-core').Page} page */
async function boardWidth(page) {
  return page.evaluate(() => /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect().width);
}

test('a stroke drawn zoomed in lands where the pointer was', async () => {
  const room = await createRoom(ctx.server.url, { width: 1600, height: 1000 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const fit = await zoomLevel(page);
  // Zoom in at a point right of centre, with Ctrl + wheel.
  await ctrlWheel(page, 700, 300, -300, 4);
  const zoomed = await zoomLevel(page);
  assert.ok(zoomed > fit * 1.5, `zoomed in: ${fit}% to ${zoomed}%`);

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
  assert.equal(await zoomLevel(page), fit);
  await page.screenshot({ path: join(artifacts(), 'zoom.png') });
});

test('100% is one board pixel per CSS pixel, so a leader and a follower show the same level', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Wide', width: 1920, height: 1080 });
  const viewport = { width: 1280, height: 800 };
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', viewport);
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob', viewport);

  // Fitted: the level says how big the board really is on screen.
  const fitted = await boardWidth(ann);
  assert.ok(fitted < 1000, `fitted into the stage: ${fitted}px`);
  assert.equal(await zoomLevel(ann), Math.round((fitted / 1920) * 100));

  // 1 (or the menu) shows actual size: 1920 board pixels on 1920 CSS pixels.
  await ann.keyboard.press('1');
  assert.equal(await zoomLevel(ann), 100);
  assert.ok(Math.abs((await boardWidth(ann)) - 1920) < 1, `actual size: ${await boardWidth(ann)}px`);
  await ann.keyboard.press('0');
  assert.ok(Math.abs((await boardWidth(ann)) - fitted) < 1, '0 fits again');
  await ann.locator('#zoom-fit').click();
  await ann.getByRole('menuitem', { name: /Actual size/ }).click();
  assert.equal(await zoomLevel(ann), 100);
  assert.ok(Math.abs((await boardWidth(ann)) - 1920) < 1, 'the menu shows actual size too');
  await ann.locator('#zoom-fit').click();
  await ann.getByRole('menuitem', { name: /Fit to screen/ }).click();
  assert.ok(Math.abs((await boardWidth(ann)) - fitted) < 1, 'and fits');

  // Bob follows Ann, on a screen like hers: they show one scale, and say so alike.
  await bob.getByRole('button', { name: "Follow Ann's view" }).click();
  await ctrlWheel(ann, 600, 400, -100, 3);
  const level = await zoomLevel(ann);
  assert.ok(level > Math.round((fitted / 1920) * 100), `Ann zoomed in: ${level}%`);
  await eventually(async () => Math.abs((await viewOf(bob)).width - (await viewOf(ann)).width) < 2, "Bob shows Ann's view");
  assert.equal(await zoomLevel(bob), level, 'the same level for the same scale');
});

test('the wheel and two-finger scrolling pan (sideways too); Ctrl + wheel and pinch zoom in small steps', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Scroll', width: 1920, height: 1080 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1280, height: 800 });
  const level = await zoomLevel(page);
  const v0 = await viewOf(page);
  await page.mouse.move(640, 400);
  await page.mouse.wheel(0, 200);
  const v1 = await viewOf(page);
  assert.equal(await zoomLevel(page), level, 'a wheel does not zoom');
  const scale = (await boardWidth(page)) / 1920;
  assert.ok(Math.abs(v1.y - v0.y - 200 / scale) < 2 && Math.abs(v1.x - v0.x) < 0.5, `scrolled down: ${JSON.stringify([v0, v1])}`);
  // A trackpad's two fingers scroll both ways; a sideways wheel (or Shift + wheel) pans sideways.
  await page.mouse.wheel(120, -60);
  const v2 = await viewOf(page);
  assert.ok(Math.abs(v2.x - v1.x - 120 / scale) < 2 && Math.abs(v2.y - v1.y + 60 / scale) < 2, `panned both ways: ${JSON.stringify([v1, v2])}`);
  await page.keyboard.down('Shift');
  await page.mouse.wheel(0, 100);
  await page.keyboard.up('Shift');
  const v3 = await viewOf(page);
  assert.ok(v3.x > v2.x + 50 / scale && Math.abs(v3.y - v2.y) < 0.5, `Shift + wheel pans sideways: ${JSON.stringify([v2, v3])}`);
  assert.equal(await zoomLevel(page), level);

  // One notch of Ctrl + wheel is a small step, in and out.
  const before = (await viewOf(page)).width;
  await ctrlWheel(page, 640, 400, -100);
  const inOne = before / (await viewOf(page)).width;
  assert.ok(inOne > 1.05 && inOne <= 1.16, `one notch in: x${inOne.toFixed(3)}`);
  await ctrlWheel(page, 640, 400, 100);
  assert.ok(Math.abs((await viewOf(page)).width - before) < 1, 'one notch out undoes it');
  // A trackpad pinch sends many small Ctrl + wheel deltas: it zooms smoothly with them.
  await ctrlWheel(page, 640, 400, -4, 10);
  const pinched = before / (await viewOf(page)).width;
  assert.ok(pinched > 1.3 && pinched < 1.6, `pinched: x${pinched.toFixed(3)}`);
  assert.equal(await roomSeq(ctx.server.url, room.id), 0, 'nothing drawn');
});
