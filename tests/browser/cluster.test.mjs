// Cluster mode in the page: two nodes on one PostgreSQL. A page on the node that does not run
// the board draws through it (relayed to the owner); when the owner dies, the page reconnects by
// itself, the other node takes the board over, and the drawing is intact, including a stroke
// drawn while the board was moving.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel } from './harness.mjs';
import { startCluster } from './services.mjs';

/** @type {Awaited<ReturnType<typeof startCluster>>} */
let ctx;

before(async () => {
  ctx = await startCluster({ args: ['--lease-ttl', '3s', '--lease-margin', '1s'] });
});

after(async () => {
  await ctx?.stop();
});

const ink = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80;

test('a page on another node draws through the owner and survives its death', async () => {
  const room = await createRoom(ctx.a.url, { name: 'Cluster', width: 900, height: 600 });
  // A opens the board first, so A runs it.
  const info = await fetch(`${ctx.a.url}/api/rooms/${room.id}`);
  assert.equal(info.status, 200);

  const page = await openBoard(ctx.browser, ctx.b.url + room.edit_url, 'Ann');
  await drawWithMouse(page, [[100, 100], [400, 300], [800, 200]]);
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '1', 'commit through B');
  // The owner has it: A's own answer says seq 1.
  assert.equal((await (await fetch(`${ctx.a.url}/api/rooms/${room.id}`)).json()).seq, 1);

  await ctx.a.kill();
  await eventually(async () => (await page.locator('.conn').getAttribute('data-state')) !== 'connected', 'page notices');
  // Drawn while the board moves: kept, and sent once the page is back in sync.
  await drawWithMouse(page, [[100, 400], [450, 420], [800, 400]]);
  assert.ok(ink(await pixel(page, 'live', 450, 420)), 'the stroke shows at once');

  await eventually(async () => (await page.locator('.conn').getAttribute('data-state')) === 'connected', 'reconnected to B', 30000);
  await page.waitForSelector('body[data-synced]');
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '2', 'the stroke drawn meanwhile committed', 15000);
  await eventually(async () => ink(await pixel(page, 'base', 400, 300)), 'the first stroke intact');
  await eventually(async () => ink(await pixel(page, 'base', 450, 420)), 'the second stroke in the picture');
  await drawWithMouse(page, [[100, 500], [800, 500]]);
  await eventually(async () => (await page.locator('.board').getAttribute('data-seq')) === '3', 'drawing goes on');
  const onB = await (await fetch(`${ctx.b.url}/api/rooms/${room.id}`)).json();
  assert.equal(onB.seq, 3);
  await page.screenshot({ path: join(artifacts(), 'cluster-failover.png') });
});
