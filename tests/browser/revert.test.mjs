// The owner's revert in the page: Olga (the owner) reverts what Ed drew from his row in the
// people panel, after a confirmation; Ed's line goes from every page while Ann's, drawn over
// and under it, stays; Olga's Undo brings Ed's line back. Editors see no Revert button.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, roomSeq, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const isInk = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80 && p[1] < 80 && p[2] < 80;

/** Opens the people panel if it is closed. @param {import('playwright-core').Page} page */
async function openPeople(page) {
  if (!(await page.locator('.members').isVisible())) await page.locator('#people-toggle').click();
}

test("the owner reverts an editor's drawing and undoes the revert", async () => {
  const room = await createRoom(ctx.server.url, { name: 'Reverted', width: 1200, height: 800 });
  const olga = await openBoard(ctx.browser, `${ctx.server.url}${room.edit_url}&owner=${room.owner_key}`, 'Olga');
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const ed = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ed');

  // Ann's line, Ed's line under it, then Ann's line across Ed's.
  await drawWithMouse(ann, [[100, 200], [700, 200]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, "Ann's first line");
  await drawWithMouse(ed, [[100, 400], [700, 400]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 2, "Ed's line");
  await drawWithMouse(ann, [[400, 100], [400, 500]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 3, "Ann's second line");
  for (const page of [olga, ann]) {
    await eventually(async () => isInk(await pixel(page, 'base', 250, 400)), "Ed's line drawn");
  }

  // Editors get no Revert button.
  await openPeople(ann);
  assert.equal(await ann.locator('.members .revert').count(), 0);

  // Revert Ed, after a confirmation.
  await openPeople(olga);
  const row = olga.locator('.members li', { hasText: 'Ed' });
  await row.locator('.revert').click();
  await olga.locator('#moderation-dialog').waitFor({ state: 'visible' });
  assert.equal(await olga.locator('#moderation-title').textContent(), 'Revert what Ed drew?');
  await olga.locator('#moderation-ok').click();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 4, 'the revert');
  for (const [page, who] of [[olga, 'Olga'], [ann, 'Ann'], [ed, 'Ed']]) {
    await eventually(async () => !isInk(await pixel(page, 'base', 250, 400)), `Ed's line gone at ${who}`);
    assert.ok(isInk(await pixel(page, 'base', 250, 200)), `Ann's first line stays at ${who}`);
    assert.ok(isInk(await pixel(page, 'base', 400, 400)), `Ann's line across Ed's stays at ${who}`);
  }
  await olga.screenshot({ path: join(artifacts(), 'revert-owner.png') });

  // Olga's Undo brings Ed's line back everywhere.
  await olga.locator('#undo').click();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 5, 'the undo');
  for (const [page, who] of [[olga, 'Olga'], [ann, 'Ann'], [ed, 'Ed']]) {
    await eventually(async () => isInk(await pixel(page, 'base', 250, 400)), `Ed's line back at ${who}`);
  }
  await ann.screenshot({ path: join(artifacts(), 'revert-undone.png') });
});
