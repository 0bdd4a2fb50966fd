// Cluster mode with the Redis bus, in the page: two nodes on one PostgreSQL and one Redis. An
// editor's page on A (which runs the board) draws; a viewer's page on B follows it live, fed
// from the bus rather than through its relay (B's metrics say so), and shows the same picture.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel } from './harness.mjs';
import { startCluster } from './services.mjs';

/** @type {Awaited<ReturnType<typeof startCluster>>} */
let ctx;

before(async () => {
  ctx = await startCluster({ bus: true });
});

after(async () => {
  await ctx?.stop();
});

const ink = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80;

/** A line of a node's /metrics, e.g. `inkroom_bus_members 1`. @param {string} url @param {string} line */
async function hasMetric(url, line) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').includes(line);
}

test('a viewer on another node follows the board from the bus', async () => {
  const room = await createRoom(ctx.a.url, { name: 'Bus', width: 900, height: 600 });
  // A opens the board first, so A runs it.
  assert.equal((await fetch(`${ctx.a.url}/api/rooms/${room.id}`)).status, 200);
  const ann = await openBoard(ctx.browser, ctx.a.url + room.edit_url, 'Ann');
  const vic = await openBoard(ctx.browser, ctx.b.url + room.view_url, 'Vic');
  await vic.waitForSelector('body[data-synced]');
  await eventually(() => hasMetric(ctx.b.url, 'inkroom_bus_members 1'), 'B feeds the viewer from the bus');

  await drawWithMouse(ann, [[100, 100], [400, 300], [800, 200]]);
  await drawWithMouse(ann, [[100, 500], [450, 420], [800, 500]]);
  await eventually(async () => (await vic.locator('.board').getAttribute('data-seq')) === '2', 'both commits reach the viewer');
  await eventually(async () => ink(await pixel(vic, 'base', 400, 300)), 'the first stroke on the viewer');
  await eventually(async () => ink(await pixel(vic, 'base', 450, 420)), 'the second stroke on the viewer');
  assert.ok(!ink(await pixel(vic, 'base', 450, 100)), 'nothing where nobody drew');
  // Still fed from the bus, and the room still on A.
  assert.ok(await hasMetric(ctx.b.url, 'inkroom_bus_members 1'));
  assert.ok(await hasMetric(ctx.a.url, 'inkroom_rooms_loaded 1'));
  assert.ok(await hasMetric(ctx.b.url, 'inkroom_rooms_loaded 0'));
  await vic.screenshot({ path: join(artifacts(), 'cluster-bus-viewer.png') });
});
