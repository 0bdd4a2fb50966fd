// Touch and stylus in headless Chromium, through raw CDP input: a finger draws like the mouse,
// a pen in use makes touches not draw (palm rejection), a second finger turns a just-started
// stroke into a pinch/pan, and a stroke drawn after pinching lands under the finger.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, openBoard, pixel, rawInput, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);
const TOUCH = { hasTouch: true, isMobile: false };
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const inked = (/** @type {number[]} */ p) => p[3] > 200;

/** @param {string} id */
async function seqOf(id) {
  return (await (await fetch(`${ctx.server.url}/api/rooms/${id}`)).json()).seq;
}

/**
 * Draws with one finger through canvas-pixel points.
 * @param {import('playwright-core').Page} page
 * @param {Awaited<ReturnType<typeof rawInput>>} input
 * @param {Array<[number, number]>} points
 */
async function drawWithFinger(page, input, points) {
  const first = await toPage(page, ...points[0]);
  await input.touchStart([{ ...first, id: 1 }]);
  for (const [x, y] of points.slice(1)) {
    const p = await toPage(page, x, y);
    await input.touchMove([{ ...p, id: 1 }]);
    await sleep(30);
  }
  await input.touchEnd();
}

/** Records the pointerType of every pointerdown the board gets. @param {import('playwright-core').Page} page */
async function recordPointerTypes(page) {
  await page.evaluate(() => {
    const seen = /** @type {string[]} */ ([]);
    Object.assign(window, { seenPointers: seen });
    document.querySelector('.board')?.addEventListener('pointerdown', (e) => seen.push(/** @type {PointerEvent} */ (e).pointerType));
  });
}

test('one editor draws with the mouse, the other with a finger', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Touch', width: 1200, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const tom = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Tom', { width: 900, height: 700 }, TOUCH);
  await recordPointerTypes(tom);
  const input = await rawInput(tom);

  await drawWithMouse(ann, [[100, 100], [500, 150]]);
  await tom.locator('.swatch[data-color="#e03131"]').click();
  await drawWithFinger(tom, input, [[100, 500], [300, 520], [500, 540], [700, 560]]);

  assert.ok((await tom.evaluate(() => /** @type {any} */ (window).seenPointers)).includes('touch'), 'the pen got touch pointers');
  await eventually(async () => inked(await pixel(tom, 'base', 300, 125)), "Ann's mouse stroke at Tom");
  await eventually(async () => {
    const p = await pixel(ann, 'base', 400, 530);
    return p[3] > 200 && p[0] > 180 && p[1] < 90;
  }, "Tom's finger stroke at Ann");
  assert.equal(await seqOf(room.id), 2);
  await tom.screenshot({ path: join(artifacts(), 'touch-tom.png') });
});

test('a pen in use makes touches not draw (palm rejection)', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Palm', width: 1200, height: 800 });
  const pat = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Pat', { width: 900, height: 700 }, TOUCH);
  await recordPointerTypes(pat);
  const input = await rawInput(pat);

  // The pen draws; while it is down, a palm touches the screen elsewhere and moves.
  const a = await toPage(pat, 100, 200);
  const b = await toPage(pat, 600, 200);
  await input.pen('mouseMoved', a.x, a.y);
  await input.pen('mousePressed', a.x, a.y);
  for (let i = 1; i <= 5; i++) await input.pen('mouseMoved', a.x + ((b.x - a.x) * i) / 5, a.y);
  await drawWithFinger(pat, input, [[300, 600], [500, 620], [800, 640]]);
  await input.pen('mouseReleased', b.x, b.y);
  assert.ok((await pat.evaluate(() => /** @type {any} */ (window).seenPointers)).includes('pen'), 'the pen got pen pointers');
  await eventually(async () => (await seqOf(room.id)) === 1, 'the pen stroke committed');

  // Right after the pen lifts, a touch still does not draw.
  await drawWithFinger(pat, input, [[300, 700], [800, 720]]);
  await sleep(400);
  assert.equal(await seqOf(room.id), 1, 'no palm strokes');
  assert.ok(inked(await pixel(pat, 'base', 350, 200)), 'the pen stroke is there');
  assert.equal((await pixel(pat, 'base', 500, 620))[3], 0, 'no palm ink');
  assert.equal((await pixel(pat, 'live', 500, 620))[3], 0, 'no palm ink, not even locally');

  // Once the pen has been put away for a while, fingers draw again.
  await sleep(1600);
  await drawWithFinger(pat, input, [[300, 700], [800, 720]]);
  await eventually(async () => (await seqOf(room.id)) === 2, 'the finger stroke committed');
});

test('a second finger turns a just-started stroke into a pinch, and drawing zoomed in lands under the finger', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Pinch', width: 1600, height: 1000 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Pia', { width: 900, height: 700 }, TOUCH);
  const input = await rawInput(page);
  const zoom = async () => Number.parseInt((await page.locator('#zoom-fit').textContent()) ?? '0', 10);
  const fit = await zoom();

  // Finger one lands and moves a little; finger two lands at once: pinch apart and move.
  await input.touchStart([{ x: 420, y: 380, id: 1 }]);
  await input.touchMove([{ x: 425, y: 382, id: 1 }]);
  await input.touchStart([{ x: 425, y: 382, id: 1 }, { x: 520, y: 382, id: 2 }]);
  for (let i = 1; i <= 10; i++) {
    await input.touchMove([{ x: 425 - 12 * i, y: 382 - 2 * i, id: 1 }, { x: 520 + 12 * i, y: 382 - 2 * i, id: 2 }]);
  }
  await input.touchEnd();
  const z = await zoom();
  assert.ok(z > fit * 2, `pinched in: ${fit}% to ${z}%`);
  await sleep(300);
  assert.equal(await seqOf(room.id), 0, 'the cancelled stroke was never sent');
  const live = await page.evaluate(() => {
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-live'));
    const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
    return d.some((v, i) => i % 4 === 3 && v > 0);
  });
  assert.equal(live, false, 'and left no trace on screen');

  // Two-finger pan: both fingers move the same way, the zoom stays.
  await input.touchStart([{ x: 300, y: 300, id: 1 }]);
  await input.touchStart([{ x: 300, y: 300, id: 1 }, { x: 400, y: 300, id: 2 }]);
  for (let i = 1; i <= 5; i++) await input.touchMove([{ x: 300 - 10 * i, y: 300 + 8 * i, id: 1 }, { x: 400 - 10 * i, y: 300 + 8 * i, id: 2 }]);
  await input.touchEnd();
  assert.equal(await zoom(), z, 'panning keeps the zoom');

  // A finger stroke drawn zoomed in: the server's ink is under the finger's path.
  await sleep(200);
  await input.touchStart([{ x: 380, y: 420, id: 1 }]);
  for (let x = 390; x <= 520; x += 10) {
    await input.touchMove([{ x, y: 420, id: 1 }]);
    await sleep(20);
  }
  await input.touchEnd();
  await eventually(async () => (await seqOf(room.id)) === 1, 'the stroke committed');
  const [cx, cy] = await page.evaluate(([px, py]) => {
    const r = /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect();
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-base'));
    return [Math.round(((px - r.left) * c.width) / r.width), Math.round(((py - r.top) * c.height) / r.height)];
  }, [450, 420]);
  const png = decodePng(Buffer.from(await (await fetch(`${ctx.server.url}/api/rooms/${room.id}/canvas.png?background=transparent`)).arrayBuffer()));
  assert.ok(inked(png.at(cx, cy)), `ink at canvas ${cx},${cy} under the finger: ${png.at(cx, cy)}`);
  assert.equal(png.at(cx, cy + 40)[3], 0, 'and not far from it');
  await page.screenshot({ path: join(artifacts(), 'touch-pinch.png') });
});

test('on a view-only page one finger pans and two fingers zoom', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Watch', width: 1600, height: 1000 });
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic', { width: 375, height: 740 }, TOUCH);
  const input = await rawInput(vic);
  const view = () => vic.evaluate(() => /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect().toJSON());
  const fit = Number.parseInt((await vic.locator('#zoom-fit').textContent()) ?? '0', 10);
  const before = await view();
  await input.touchStart([{ x: 200, y: 400, id: 1 }]);
  for (let i = 1; i <= 5; i++) await input.touchMove([{ x: 200 + 10 * i, y: 400 + 6 * i, id: 1 }]);
  await input.touchEnd();
  const moved = await view();
  assert.ok(Math.abs(moved.x - before.x - 50) < 2 && Math.abs(moved.y - before.y - 30) < 2, `panned: ${JSON.stringify([before, moved])}`);
  assert.equal((await vic.locator('.toast').allTextContents()).length, 0, 'no "view-only" complaint');

  await input.touchStart([{ x: 150, y: 400, id: 1 }]);
  await input.touchStart([{ x: 150, y: 400, id: 1 }, { x: 230, y: 400, id: 2 }]);
  for (let i = 1; i <= 6; i++) await input.touchMove([{ x: 150 - 10 * i, y: 400, id: 1 }, { x: 230 + 10 * i, y: 400, id: 2 }]);
  await input.touchEnd();
  const z = Number.parseInt((await vic.locator('#zoom-fit').textContent()) ?? '0', 10);
  assert.ok(z > fit * 2, `pinched in: ${fit}% to ${z}%`);
  assert.equal((await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq, 0);
});
