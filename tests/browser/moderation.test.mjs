// Moderation in the page: the creator's page keeps the owner key from the `#owner=` fragment
// (in localStorage, never in a request URL) and shows the owner link; the owner locks the board
// and removes an editor from the people panel, each after a confirmation, while the editor's
// page watches: it turns read-only with the owner's notice, draws nothing, then is closed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, roomSeq, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/** Opens the people panel if it is closed. @param {import('playwright-core').Page} page */
async function openPeople(page) {
  if (!(await page.locator('.members').isVisible())) await page.locator('#people-toggle').click();
}

test('the owner locks and removes an editor while the editor watches', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Moderated', width: 1200, height: 800 });
  // As the landing page does: the edit link with the owner key beside it in the fragment.
  // Every URL the page asks for is recorded from the first, to show none carries the key.
  const context = await ctx.browser.newContext({ viewport: { width: 1100, height: 700 } });
  await context.addInitScript(() => localStorage.setItem('inkroom.name', 'Olga'));
  const olga = await context.newPage();
  /** @type {string[]} */
  const urls = [];
  olga.on('request', (r) => urls.push(r.url()));
  olga.on('websocket', (ws) => urls.push(ws.url()));
  await olga.goto(`${ctx.server.url}${room.edit_url}&owner=${room.owner_key}`);
  await olga.waitForSelector('body[data-synced]');
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');

  // The key left the address bar and is kept in this browser; the owner link is under Share.
  assert.ok(!(await olga.evaluate(() => location.href)).includes(room.owner_key), 'owner key still in the address');
  assert.equal(await olga.evaluate((id) => localStorage.getItem(`inkroom.owner.${id}`), room.id), room.owner_key);
  await olga.locator('#share').click();
  assert.ok((await olga.locator('#share-owner-url').inputValue()).endsWith(`/r/${room.id}#owner=${room.owner_key}`));
  assert.ok(await olga.locator('#new-edit-link').isVisible());
  await olga.locator('#share-dialog .dialog-close').click();
  // An editor sees none of the owner's controls.
  await openPeople(ann);
  assert.equal(await ann.locator('#owner-lock').isVisible(), false);
  assert.equal(await ann.locator('.members .kick').count(), 0);

  // Lock, after a confirmation: the editor's page turns read-only with the owner's notice.
  await openPeople(olga);
  await olga.locator('#owner-lock').click();
  await olga.locator('#moderation-dialog').waitFor({ state: 'visible' });
  assert.equal(await olga.locator('#moderation-title').textContent(), 'Lock the board?');
  await olga.locator('#moderation-ok').click();
  await eventually(() => ann.locator('.readonly-notice').isVisible(), 'the lock notice at the editor');
  assert.equal(await ann.locator('.readonly-notice').getAttribute('data-reason'), 'locked');
  assert.match(await ann.locator('.readonly-text').textContent() ?? '', /owner locked/);
  assert.equal(await ann.locator('.role-badge').textContent(), 'Read-only');
  await eventually(async () => (await olga.locator('#owner-lock').textContent()) === 'Unlock board', 'the unlock button');
  await drawWithMouse(ann, [[100, 100], [600, 300]]);
  await ann.screenshot({ path: join(artifacts(), 'moderation-locked.png') });
  assert.equal(await roomSeq(ctx.server.url, room.id), 0, 'nothing drawn while locked');

  // Unlock: the editor draws again.
  await olga.locator('#owner-lock').click();
  await olga.locator('#moderation-ok').click();
  await eventually(async () => !(await ann.locator('.readonly-notice').isVisible()), 'the notice gone');
  await drawWithMouse(ann, [[100, 100], [600, 300]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'a stroke after unlocking');

  // Remove Ann, after a confirmation: her page says so and stays closed.
  const row = olga.locator('.members li', { hasText: 'Ann' });
  await row.locator('.kick').click();
  assert.equal(await olga.locator('#moderation-title').textContent(), 'Remove Ann?');
  await olga.locator('#moderation-ok').click();
  await eventually(() => ann.locator('.fatal').isVisible(), 'the removed notice');
  assert.match(await ann.locator('.fatal').textContent() ?? '', /removed/);
  await eventually(async () => (await olga.locator('.members li', { hasText: 'Ann' }).count()) === 0, 'Ann gone from the list');
  await olga.screenshot({ path: join(artifacts(), 'moderation-owner.png') });

  assert.ok(urls.some((u) => u.includes('/ws')), 'the WebSocket was recorded');
  for (const url of urls) assert.ok(!url.includes(room.owner_key), `owner key in a request URL: ${url}`);
});

test('the creator owns the board from the landing page and makes a new edit link', async () => {
  const context = await ctx.browser.newContext({ viewport: { width: 1100, height: 700 } });
  await context.addInitScript(() => localStorage.setItem('inkroom.name', 'Cora'));
  const cora = await context.newPage();
  await cora.goto(`${ctx.server.url}/`);
  await cora.locator('input[name=name]').fill('Mine');
  await cora.locator('#create').click();
  await cora.waitForSelector('body[data-synced]');
  const id = new URL(cora.url()).pathname.split('/')[2];
  assert.ok(!cora.url().includes('owner='), 'the owner key left the address bar');
  assert.equal(await cora.locator('.members .member-tag').textContent(), 'owner');
  await cora.locator('#share').click();
  const ownerUrl = await cora.locator('#share-owner-url').inputValue();
  assert.match(ownerUrl, new RegExp(`/r/${id}#owner=[0-9a-f]{32}$`));
  const oldEditUrl = await cora.locator('#share-edit-url').inputValue();

  // An editor joins with the edit link; the owner replaces it, after a confirmation.
  const eve = await openBoard(ctx.browser, oldEditUrl, 'Eve');
  assert.equal(await eve.locator('.role-badge').textContent(), 'Editing');
  await cora.locator('#new-edit-link').click();
  assert.equal(await cora.locator('#moderation-title').textContent(), 'Make a new edit link?');
  await cora.locator('#moderation-ok').click();
  await eventually(async () => (await cora.locator('#share-edit-url').inputValue()) !== oldEditUrl, 'the new edit link');
  const newEditUrl = await cora.locator('#share-edit-url').inputValue();
  assert.match(newEditUrl, new RegExp(`/r/${id}#key=[0-9a-f]{32}$`));

  // The editor who joined with the old link can only watch now; the new link makes editors.
  await eventually(async () => (await eve.locator('.role-badge').textContent()) === 'View only', 'the editor turned viewer');
  const fay = await openBoard(ctx.browser, newEditUrl, 'Fay');
  assert.equal(await fay.locator('.role-badge').textContent(), 'Editing');
  assert.equal(await cora.locator('.role-badge').textContent(), 'Editing', 'the owner still draws');
});
