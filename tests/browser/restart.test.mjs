// The server restarts under an open page: the page shows it is reconnecting, comes back by
// itself, and its drawing is intact (from the server's store) and still editable.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, startServer, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const ink = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80;

test('a page survives a server restart with its drawing intact', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Restart', width: 900, height: 600 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await drawWithMouse(page, [[100, 100], [400, 300], [800, 200]]);
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '1', 'commit');

  // Restart on the same address and data dir.
  const addr = new URL(ctx.server.url).host;
  const { dataDir } = ctx.server;
  await ctx.server.stop();
  await eventually(async () => (await page.locator('.conn').getAttribute('data-state')) !== 'connected', 'page notices');
  assert.match(await page.locator('.conn').textContent() ?? '', /Reconnecting|Offline|Connecting/);
  // Drawing goes on while the server is away: the stroke is kept and sent once back in sync.
  await drawWithMouse(page, [[100, 400], [450, 420], [800, 400]]);
  assert.ok(ink(await pixel(page, 'live', 450, 420)), 'the offline stroke shows at once');
  ctx.server = await startServer({ dataDir, addr });

  await eventually(async () => (await page.locator('.conn').getAttribute('data-state')) === 'connected', 'reconnected', 15000);
  await page.waitForSelector('body[data-synced]');
  // It resumed from its own canvas (only changed tiles were sent: none), not a full reload.
  assert.equal(await page.evaluate(() => document.body.dataset.resumed), 'true');
  await eventually(async () => ink(await pixel(page, 'base', 400, 300)), 'drawing intact after restart');

  // The offline stroke reached the server (seq 2); drawing goes on (seq 3).
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '2', 'offline stroke committed');
  await eventually(async () => ink(await pixel(page, 'base', 450, 420)), 'offline stroke in the picture');
  await drawWithMouse(page, [[100, 500], [800, 500]]);
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '3', 'third commit');
  const info = await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json();
  assert.equal(info.seq, 3);
  await page.screenshot({ path: join(artifacts(), 'restart.png') });
});

test('while the server is away the people list is greyed and says so, and a refused shape says it is reconnecting', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Away', width: 900, height: 600 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');
  await eventually(async () => (await ann.locator('.members li').count()) === 2, 'two members');
  assert.equal(await ann.locator('.people-offline').isVisible(), false);

  const addr = new URL(ctx.server.url).host;
  const { dataDir } = ctx.server;
  await ctx.server.stop();
  const offline = ann.locator('.people-offline');
  await offline.waitFor();
  assert.match((await offline.textContent()) ?? '', /Reconnecting/);
  const opacity = await ann.locator('.members').evaluate((el) => Number(getComputedStyle(el).opacity));
  assert.ok(opacity < 0.6, `the list is greyed: ${opacity}`);
  // Shapes need the server: the page says it is reconnecting, not that it never connected.
  await ann.keyboard.press('r');
  const a = await toPage(ann, 100, 100);
  await ann.mouse.click(a.x, a.y);
  const toast = ann.locator('.toast-error');
  await toast.waitFor();
  assert.match((await toast.textContent()) ?? '', /Reconnecting/);
  assert.doesNotMatch((await toast.textContent()) ?? '', /Not connected yet/);
  await ann.screenshot({ path: join(artifacts(), 'people-offline.png') });

  ctx.server = await startServer({ dataDir, addr });
  await offline.waitFor({ state: 'hidden', timeout: 15000 });
  await eventually(async () => (await ann.locator('.members').evaluate((el) => getComputedStyle(el).opacity)) === '1', 'the list back to normal');
});
