// Steady hand in headless Chromium: the same jittery mouse path sent with smoothing off and
// strong, comparing the points that reach the server; the setting is remembered after a reload.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, eventually, openBoard, toPage, useServerAndBrowser } from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/**
 * Collects the points of every stroke the page sends, by stroke id.
 * @param {import('playwright-core').Page} page
 */
function strokesSent(page) {
  /** @type {Map<number, number[]>} */
  const strokes = new Map();
  /** @type {Set<number>} */
  const ended = new Set();
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      if (typeof f.payload !== 'string') return;
      const msg = JSON.parse(f.payload);
      if (msg.type === 'stroke_begin') strokes.set(msg.stroke, [...msg.points]);
      if (msg.type === 'stroke_points') strokes.get(msg.stroke)?.push(...msg.points);
      if (msg.type === 'stroke_end') ended.add(msg.stroke);
    });
  });
  return { strokes, ended };
}

/** How often the vertical direction flips along the points (x, y, pressure triples). @param {number[]} pts */
function flips(pts) {
  let count = 0;
  let last = 0;
  for (let i = 3; i < pts.length; i += 3) {
    const dy = Math.sign(pts[i + 1] - pts[i - 2]);
    if (dy !== 0 && last !== 0 && dy !== last) count++;
    if (dy !== 0) last = dy;
  }
  return count;
}

/** A shaky horizontal line: 6 px zigzags every 8 px. @param {import('playwright-core').Page} page @param {number} y */
async function shakyLine(page, y) {
  const start = await toPage(page, 100, y);
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  for (let i = 1; i <= 80; i++) {
    const p = await toPage(page, 100 + i * 8, y + (i % 2 ? 6 : -6));
    await page.mouse.move(p.x, p.y);
  }
  const end = await toPage(page, 740, y);
  await page.mouse.move(end.x, end.y);
  await page.mouse.up();
}

test('Steady hand sends a smoother stroke than off, and is remembered after a reload', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Steady', width: 1000, height: 700 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const { strokes, ended } = strokesSent(ann);
  assert.equal(await ann.locator('#steady').inputValue(), '0', 'off by default');

  // The page's socket is already open: reload so the listener sees it from the start.
  await ann.reload();
  await ann.waitForSelector('body[data-synced]');
  await shakyLine(ann, 200);
  await eventually(async () => ended.size === 1, 'the first stroke ended');
  await ann.locator('#steady').selectOption('3');
  await shakyLine(ann, 400);
  await eventually(async () => ended.size === 2, 'the second stroke ended');

  const [off, strong] = [...strokes.values()];
  const [flipsOff, flipsStrong] = [flips(off), flips(strong)];
  assert.ok(flipsOff >= 60, `the raw path zigzags (${flipsOff} flips)`);
  assert.ok(flipsStrong * 3 <= flipsOff, `strong smoothing removes most flips (${flipsStrong} vs ${flipsOff})`);
  // The largest sideways swing shrinks, and the stroke still ends where the mouse lifted.
  const swing = (/** @type {number[]} */ pts, /** @type {number} */ y) =>
    Math.max(...pts.filter((_, i) => i % 3 === 1 && pts[i - 1] > 200 && pts[i - 1] < 700).map((v) => Math.abs(v - y)));
  assert.ok(swing(strong, 400) < swing(off, 200) / 2, `swing ${swing(strong, 400)} vs ${swing(off, 200)}`);
  assert.ok(Math.abs(strong[strong.length - 3] - 740) < 1 && Math.abs(strong[strong.length - 2] - 400) < 1, 'ends at the lift');

  await ann.reload();
  await ann.waitForSelector('body[data-synced]');
  assert.equal(await ann.locator('#steady').inputValue(), '3', 'remembered after a reload');
});
