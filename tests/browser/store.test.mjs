// A store that cannot save, seen from the page: the stroke that could not be saved disappears,
// the board says it is read-only and why, and drawing comes back by itself once the server can
// save again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  artifacts, createRoom, drawWithMouse, eventually, launchBrowser, openBoard, pixel, startServer,
} from './harness.mjs';

/** @type {{server: Awaited<ReturnType<typeof startServer>>, browser: import('playwright-core').Browser}} */
const ctx = /** @type {any} */ ({});
before(async () => {
  // A database that may not grow past 450 kB fails writes exactly like a full disk.
  // The failures it logs are expected here.
  ctx.server = await startServer({ args: ['--max-store-bytes', '450000'], log: 'off' });
  ctx.browser = await launchBrowser();
});
after(async () => {
  await ctx.browser?.close();
  await ctx.server?.stop();
});

const ink = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80;

/**
 * Fills the database from another room: big strokes until one is refused.
 * @param {string} base server URL
 * @param {{id: string, edit_key: string}} room
 */
async function fillStore(base, room) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/rooms/${room.id}/ws`);
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  ws.send(JSON.stringify({ type: 'hello', name: 'Filler', key: room.edit_key }));
  const points = [];
  for (let j = 0; j < 1000; j += 1) points.push(5 + (j % 490), 10 + (j % 7) * 0.5, 0.5);
  let stroke = 0;
  const draw = () => {
    stroke += 1;
    ws.send(JSON.stringify({ type: 'stroke_begin', stroke, tool: 'pen', color: '#336699', width: 3, points }));
    ws.send(JSON.stringify({ type: 'stroke_end', stroke }));
  };
  await new Promise((full, fail) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === 'synced') draw();
      else if (msg.type === 'commit' && msg.stroke === stroke) draw();
      else if (msg.type === 'error' && msg.code === 'store_unavailable') full(undefined);
      else if (msg.type === 'error') fail(new Error(`filler: ${msg.code}`));
      if (stroke > 300) fail(new Error('the store never filled up'));
    });
  });
  ws.close();
}

test('a stroke the server cannot save disappears, the board turns read-only and recovers', async () => {
  const base = ctx.server.url;
  const other = await createRoom(base, { name: 'Filler', width: 500, height: 300 });
  const room = await createRoom(base, { name: 'Full disk', width: 900, height: 600 });
  const page = await openBoard(ctx.browser, base + room.edit_url, 'Ann');
  await drawWithMouse(page, [[100, 100], [400, 300], [800, 200]]);
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '1', 'first stroke committed');

  await fillStore(base, other);
  // The last pages' slack still takes small strokes: draw until one does not fit.
  const notice = page.locator('.readonly-notice');
  let y = 0;
  for (let k = 0; k < 60 && !(await notice.isVisible()); k += 1) {
    y = 330 + ((k * 6) % 250);
    const seq = await page.locator('.board').getAttribute('data-seq');
    await drawWithMouse(page, [[100, y], [450, y], [800, y]]);
    await eventually(async () => (await notice.isVisible()) || (await page.locator('.board').getAttribute('data-seq')) !== seq, 'committed or refused');
  }
  await notice.waitFor({ state: 'visible' });
  assert.match(await notice.textContent() ?? '', /cannot save/);
  assert.equal(await page.locator('.role-badge').textContent(), 'Read-only');
  assert.ok(await page.locator('.toolbar').isHidden(), 'no drawing tools while read-only');
  // The stroke that was not saved is nowhere; the saved one is intact.
  await eventually(async () => !ink(await pixel(page, 'live', 450, y)) && !ink(await pixel(page, 'base', 450, y)), 'unsaved stroke gone');
  assert.ok(ink(await pixel(page, 'base', 400, 300)), 'the saved stroke stays');
  await page.screenshot({ path: join(artifacts(), 'store-read-only.png') });

  // Space comes back (another board is deleted): the page can draw again by itself.
  const res = await fetch(`${base}/api/rooms/${other.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${other.edit_key}` } });
  assert.equal(res.status, 204);
  await notice.waitFor({ state: 'hidden', timeout: 15000 });
  assert.equal(await page.locator('.role-badge').textContent(), 'Editing');
  const before = Number(await page.locator('.board').getAttribute('data-seq'));
  await drawWithMouse(page, [[100, 590], [450, 590], [800, 590]]);
  await eventually(async () => Number(await page.locator('.board').getAttribute('data-seq')) === before + 1, 'the taken-back seq is reused');
  await eventually(async () => ink(await pixel(page, 'base', 450, 590)), 'new stroke saved');
});
