// View-only links and sharing: a late-joining viewer sees what was drawn before, has no tools,
// and a drawing message forged from its page is refused by the server; the share dialog shows
// viewers only the view link, and the edit key never goes to the server in a URL.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, useServerAndBrowser, viewOf,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);
const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 180 && p[1] < 90 && p[2] < 90;

test('a late-joining viewer sees earlier drawing, has no tools, and its forged stroke is refused', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Watch me', width: 1200, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await ann.locator('.swatch[data-color="#e03131"]').click();
  await drawWithMouse(ann, [[100, 100], [600, 300], [1100, 100]]);
  await ann.keyboard.press('r');
  await drawWithMouse(ann, [[200, 500], [500, 700]]);
  await eventually(async () => (await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq === 2, 'two commits');

  // The viewer joins afterwards and sees both, from the server's tiles.
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');
  await eventually(async () => red(await pixel(vic, 'base', 600, 300)), 'earlier stroke at the late joiner');
  await eventually(async () => red(await pixel(vic, 'base', 350, 500)), 'earlier rectangle at the late joiner');
  assert.equal(await vic.locator('.role-badge').textContent(), 'View only');
  assert.equal(await vic.locator('.toolbar').isVisible(), false);
  assert.equal(await vic.locator('.tool:visible').count(), 0, 'no tool buttons');
  // Zoom, export and the people list are there.
  for (const sel of ['#zoom-in', '#export', '.members']) assert.ok(await vic.locator(sel).isVisible(), sel);

  // A stroke forged from the viewer's page, on its own WebSocket with a key-less hello.
  const answers = await vic.evaluate(async (id) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/rooms/${id}/ws`);
    /** @type {any[]} */
    const got = [];
    await new Promise((resolve, reject) => {
      ws.onerror = reject;
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', name: 'Forger' }));
      ws.onmessage = (e) => {
        if (typeof e.data !== 'string') return;
        const msg = JSON.parse(e.data);
        got.push(msg);
        if (msg.type === 'synced') {
          ws.send(JSON.stringify({ type: 'stroke_begin', stroke: 1, tool: 'pen', color: '#000000', width: 40, points: [900, 600, 0.5, 1000, 650, 0.5] }));
          ws.send(JSON.stringify({ type: 'stroke_end', stroke: 1 }));
          ws.send(JSON.stringify({ type: 'fill', id: 2, x: 900, y: 600, color: '#000000', tolerance: 0 }));
          ws.send(JSON.stringify({ type: 'clear', id: 3 }));
        }
        if (got.filter((m) => m.type === 'error').length >= 4) resolve(null);
      };
      setTimeout(() => resolve(null), 3000);
    });
    ws.close();
    return got.map((m) => ({ type: m.type, code: m.code, role: m.role }));
  }, room.id);
  assert.equal(answers.find((m) => m.type === 'welcome')?.role, 'viewer');
  const errors = answers.filter((m) => m.type === 'error');
  assert.equal(errors.length, 4, JSON.stringify(answers));
  assert.ok(errors.every((m) => m.code === 'read_only' || m.code === 'unknown_stroke'), JSON.stringify(errors));
  assert.equal(errors.filter((m) => m.code === 'read_only').length >= 3, true, JSON.stringify(errors));
  assert.ok(!answers.some((m) => m.type === 'commit'), 'nothing committed');

  // Nothing changed anywhere.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq, 2);
  for (const page of [ann, vic]) {
    assert.equal((await pixel(page, 'base', 950, 625))[3], 0, 'no forged ink');
    assert.ok(red(await pixel(page, 'base', 600, 300)), 'not cleared');
  }

  // On the viewer's page a drag moves the view instead of drawing.
  await vic.screenshot({ path: join(artifacts(), 'viewer.png') });
  const before = await viewOf(vic);
  await drawWithMouse(vic, [[800, 600], [1000, 650]]);
  const after = await viewOf(vic);
  assert.ok(after.x < before.x - 100 && after.y < before.y - 20, `panned: ${JSON.stringify([before, after])}`);
  assert.equal(after.zoom, before.zoom, 'dragging does not zoom');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq, 2, 'nothing drawn');
});

test('the share dialog explains both links; viewers get only the view link; the key stays out of URLs', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Shared', width: 800, height: 600 });
  const key = room.edit_key;
  const context = await ctx.browser.newContext({ viewport: { width: 1100, height: 700 } });
  /** @type {string[]} */
  const urls = [];
  context.on('request', (r) => urls.push(r.url()));
  const ann = await context.newPage();
  ann.on('websocket', (ws) => urls.push(ws.url()));
  await ann.goto(ctx.server.url + room.edit_url);
  await ann.waitForSelector('body[data-synced]');

  await ann.getByRole('button', { name: 'Share' }).click();
  const dialog = ann.locator('#share-dialog');
  assert.ok(await dialog.isVisible());
  assert.equal(await ann.locator('#share-edit-url').inputValue(), `${ctx.server.url}/r/${room.id}#key=${key}`);
  assert.equal(await ann.locator('#share-view-url').inputValue(), `${ctx.server.url}/r/${room.id}`);
  const text = (await dialog.textContent()) ?? '';
  assert.match(text, /Anyone with the edit link can draw/);
  assert.match(text, /view link only lets people watch/);
  await ann.screenshot({ path: join(artifacts(), 'share-dialog.png') });
  // Copy: the clipboard gets the link (granted here; a toast confirms).
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.server.url });
  await ann.locator('#copy-view').click();
  assert.equal(await ann.evaluate(() => navigator.clipboard.readText()), `${ctx.server.url}/r/${room.id}`);
  await ann.keyboard.press('Escape');
  assert.equal(await dialog.isVisible(), false, 'Escape closes it');

  // Export and a reload make more requests; none of them carries the key.
  await ann.locator('#export').click();
  const download = ann.waitForEvent('download');
  await ann.locator('#download').click();
  await download;
  await ann.reload();
  await ann.waitForSelector('body[data-synced]');
  assert.ok(urls.length > 5);
  assert.deepEqual(urls.filter((u) => u.includes(key)), [], 'no URL sent to the server has the key');

  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');
  await vic.locator('#share').click();
  assert.equal(await vic.locator('.share-edit').isVisible(), false, 'no edit link for viewers');
  assert.ok(await vic.locator('#share-view-url').isVisible());
  assert.equal(await vic.locator('#share-view-url').inputValue(), `${ctx.server.url}/r/${room.id}`);
  await vic.screenshot({ path: join(artifacts(), 'share-dialog-viewer.png') });
  await context.close();
});
