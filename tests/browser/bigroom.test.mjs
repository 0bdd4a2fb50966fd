// A big room: 320 viewers connected from Node, then a viewer page and an editor page in Chromium.
// The viewer page gets its traffic in `batch` frames and still draws the editor's stroke live;
// its people panel shows the true counts from `presence`, the listed members and "and N more
// viewers", and "Show all viewers" pages through everyone with `list_members`.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, useServerAndBrowser,
} from './harness.mjs';
import { connectViewers } from './crowd.mjs';

const ctx = useServerAndBrowser(before, after);
/** @type {import('./crowd.mjs').RawSocket[]} */
let crowd = [];
after(() => Promise.all(crowd.map((ws) => ws.close())));

const CROWD = 320;
const isInk = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80 && p[1] < 80 && p[2] < 80;

/**
 * Text of an element once it equals `want`.
 * @param {import('playwright-core').Page} page
 * @param {string} sel
 * @param {string} want
 */
async function textIs(page, sel, want) {
  await eventually(async () => (await page.locator(sel).first().textContent())?.trim() === want, `${sel} to read "${want}"`);
}

test('a viewer among 320 others sees strokes live, the true counts, and can page through everyone', async () => {
  const { url } = ctx.server;
  const room = await createRoom(url, { name: 'Town hall', width: 1200, height: 800 });
  crowd = await connectViewers(url, room.id, CROWD, 'Crowd');

  // Vic is viewer 321: not listed to others, but counted. Its page asks for batches.
  const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => localStorage.setItem('inkroom.name', 'Vic'));
  const vic = await context.newPage();
  let batches = 0;
  /** @type {any} */
  let hello = null;
  vic.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      if (typeof f.payload === 'string' && f.payload.includes('"hello"')) hello = JSON.parse(f.payload);
    });
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && f.payload.startsWith('{"type":"batch"')) batches += 1;
    });
  });
  vic.on('pageerror', (err) => console.error('[Vic] page error:', err));
  await vic.goto(url + room.view_url);
  await vic.waitForSelector('body[data-synced]');
  assert.equal(hello?.batch, true, 'hello asks for batches');

  const ann = await openBoard(ctx.browser, url + room.edit_url, 'Ann');
  const last = crowd[CROWD - 1];
  const crowdCommit = last.waitFor((m) => m.type === 'commit', 'the commit at the last crowd viewer', 15000);

  // Ann draws; Vic sees the stroke while Ann's button is down, then committed.
  await drawWithMouse(ann, [[100, 100], [300, 120], [500, 140]], { release: false });
  await eventually(async () => isInk(await pixel(vic, 'live', 300, 120)), "Ann's live stroke at Vic");
  await ann.mouse.up();
  await eventually(async () => isInk(await pixel(vic, 'base', 300, 120)), 'the committed stroke at Vic');
  assert.equal((await crowdCommit).author, await ann.evaluate(() => Number(document.querySelector('.members li')?.getAttribute('data-member'))));
  // A listed crowd viewer renames itself eight times in a row: the room sends the first few at
  // once (a quiet room saves up a few frames) and the rest together, in one batch frame.
  for (let i = 1; i <= 8; i++) crowd[0].send({ type: 'rename', name: i < 8 ? `Crowd 001 #${i}` : 'Crowd 001' });
  await eventually(async () => batches > 0, 'a batch frame at Vic');

  // Counts: 1 editor and 321 viewers; listed: Vic, Ann and the first 50 viewers.
  const viewers = CROWD + 1;
  await textIs(vic, '.people h2 .member-count', String(viewers + 1));
  await textIs(vic, '.presence-line', `1 editor · ${viewers} viewers`);
  await textIs(vic, '.more-viewers', `and ${viewers - 51} more viewers`);
  assert.equal(await vic.locator('.members li').count(), 52);
  const names = await vic.locator('.members .member-name').allTextContents();
  assert.deepEqual(names.slice(0, 2), ['Vic (you)', 'Ann'], 'you first, then editors');
  assert.equal(names.filter((n) => n.startsWith('Crowd')).length, 50);
  // Ann is an editor and Vic is not listed to her.
  await textIs(ann, '.people h2 .member-count', String(viewers + 1));
  await textIs(ann, '.more-viewers', `and ${viewers - 50} more viewers`);
  assert.equal(await ann.locator('.members li').count(), 51);
  // Below 52 rows, the count of the others and "Show all viewers" stay in sight.
  const panel = await vic.locator('.people').boundingBox();
  const showAll = await vic.getByRole('button', { name: 'Show all viewers' }).boundingBox();
  assert.ok(panel && showAll && showAll.y + showAll.height <= panel.y + panel.height, `in sight: ${JSON.stringify([showAll, panel])}`);
  await vic.screenshot({ path: join(artifacts(), 'bigroom-people.png') });

  // Viewers leave: the counts follow presence.
  await Promise.all(crowd.slice(CROWD - 20).map((ws) => ws.close()));
  await textIs(vic, '.more-viewers', `and ${viewers - 51 - 20} more viewers`);
  await textIs(vic, '.people h2 .member-count', String(viewers + 1 - 20));

  // Show all viewers: everyone (302), 100 a page, in join order. Past 300 rows the first page
  // leaves the DOM.
  const total = viewers + 1 - 20;
  await vic.getByRole('button', { name: 'Show all viewers' }).click();
  const rows = vic.locator('.everyone-list li');
  await eventually(async () => (await rows.count()) === 100, 'the first page');
  assert.equal(await vic.locator('.members').isVisible(), false, 'the listed members make way');
  await textIs(vic, '.everyone-range', `Showing 1–100 of ${total}`);
  assert.match((await rows.first().locator('.member-name').textContent()) ?? '', /^Crowd \d{3}$/);
  await vic.getByRole('button', { name: 'Load more' }).click();
  await eventually(async () => (await rows.count()) === 200, 'the second page');
  await vic.getByRole('button', { name: 'Load more' }).click();
  await eventually(async () => (await rows.count()) === 300, 'the third page');
  /** @type {string[]} */
  const seen = await rows.locator('.member-name').allTextContents();
  await vic.getByRole('button', { name: 'Load more' }).click();
  await textIs(vic, '.everyone-range', `Showing 101–${total} of ${total}`);
  assert.equal(await rows.count(), total - 100, 'at most three pages in the DOM');
  assert.equal(await vic.locator('.everyone-more').isVisible(), false, 'nothing more to load');
  assert.ok(await vic.getByRole('button', { name: 'Back to the start' }).isVisible());
  seen.push(...(await rows.locator('.member-name').allTextContents()).slice(200));
  assert.equal(new Set(seen).size, total, 'everyone once');
  for (const n of ['Vic (you)', 'Ann', 'Crowd 001', 'Crowd 150', 'Crowd 300']) assert.ok(seen.includes(n), n);
  await vic.screenshot({ path: join(artifacts(), 'bigroom-everyone.png') });
  await vic.getByRole('button', { name: 'Back to the start' }).click();
  await textIs(vic, '.everyone-range', `Showing 1–100 of ${total}`);
  await vic.getByRole('button', { name: 'Back to the people list' }).click();
  assert.ok(await vic.locator('.members').isVisible());
  assert.equal(await rows.count(), 0, 'the pages leave the DOM');

  // On a phone the drawer has the same: counts on the toggle, more viewers, show all.
  const phone = await openBoard(ctx.browser, url + room.view_url, 'Pia', { width: 390, height: 844 }, { hasTouch: true, isMobile: true });
  await textIs(phone, '#people-toggle .member-count', String(total + 1));
  await phone.locator('#people-toggle').click();
  await textIs(phone, '.more-viewers', `and ${viewers - 51 - 20 + 1} more viewers`);
  const drawer = await phone.locator('.people').boundingBox();
  const button = await phone.getByRole('button', { name: 'Show all viewers' }).boundingBox();
  assert.ok(drawer && button && button.x >= drawer.x && button.x + button.width <= drawer.x + drawer.width, 'the button fits the drawer');
  await phone.screenshot({ path: join(artifacts(), 'bigroom-phone.png') });
  await phone.getByRole('button', { name: 'Show all viewers' }).click();
  await eventually(async () => (await phone.locator('.everyone-list li').count()) === 100, 'the first page on the phone');
  await phone.screenshot({ path: join(artifacts(), 'bigroom-phone-everyone.png') });
  await context.close();
});
