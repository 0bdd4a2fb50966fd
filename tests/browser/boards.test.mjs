// "Your boards" on the landing page in headless Chromium: newest first, a thumbnail from the
// server, name, when opened, the role (owner, edit, view), removing an entry, and a note in place
// of the link for a board that was deleted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, createRoom, eventually, openBoard, useServerAndBrowser } from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

test('the boards list shows thumbnails, roles and deleted boards, and entries can be removed', async () => {
  const base = ctx.server.url;
  const owned = await createRoom(base, { name: 'Owned', width: 800, height: 450 });
  const edited = await createRoom(base, { name: 'Edited', width: 800, height: 450 });
  const viewed = await createRoom(base, { name: 'Viewed', width: 800, height: 450 });
  const gone = await createRoom(base, { name: 'Gone', width: 800, height: 450 });

  const page = await openBoard(ctx.browser, base + owned.edit_url, 'Ann');
  // The owner's controls keep the owner key under this name.
  await page.evaluate((id) => localStorage.setItem(`inkroom.owner.${id}`, 'owner-key'), owned.id);
  for (const url of [edited.edit_url, viewed.view_url, gone.edit_url]) {
    await page.goto(base + url);
    await page.waitForSelector('body[data-synced]');
  }
  const res = await fetch(`${base}/api/rooms/${gone.id}`, {
    method: 'DELETE', headers: { Authorization: `Bearer ${gone.edit_key}` },
  });
  assert.equal(res.status, 204);

  await page.goto(base + '/');
  const entries = page.locator('.recent .board-entry');
  await entries.first().waitFor();
  const ids = await entries.evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.id));
  assert.deepEqual(ids, [gone.id, viewed.id, edited.id, owned.id], 'newest first');

  const entry = (/** @type {string} */ id) => page.locator(`.board-entry[data-id="${id}"]`);
  assert.equal(await entry(owned.id).locator('.board-role').textContent(), 'owner');
  assert.equal(await entry(edited.id).locator('.board-role').textContent(), 'edit');
  assert.equal(await entry(viewed.id).locator('.board-role').textContent(), 'view');
  assert.equal(await entry(viewed.id).locator('.board-when').textContent(), 'just now');
  assert.equal(await entry(edited.id).locator('a.board-name').getAttribute('href'), edited.edit_url);
  assert.equal(await entry(viewed.id).locator('a.board-name').textContent(), 'Viewed');

  // Thumbnails come from the server's canvas.png at a small scale.
  for (const id of [owned.id, edited.id, viewed.id]) {
    const img = entry(id).locator('img.board-thumb');
    assert.match((await img.getAttribute('src')) ?? '', new RegExp(`/api/rooms/${id}/canvas\\.png\\?scale=`));
    await eventually(async () => (await img.evaluate((i) => /** @type {HTMLImageElement} */ (i).naturalWidth)) === 80, `thumbnail of ${id}`);
  }

  // The deleted board: a note, no link.
  await eventually(async () => (await entry(gone.id).locator('.board-deleted').count()) === 1, 'the deleted note');
  assert.match((await entry(gone.id).textContent()) ?? '', /deleted/);
  assert.equal(await entry(gone.id).locator('a').count(), 0, 'no dead link');
  await page.screenshot({ path: join(artifacts(), 'boards-list.png') });

  // Removing entries: gone at once, and after a reload.
  await entry(gone.id).locator('.board-remove').click();
  await entry(edited.id).getByRole('button', { name: /Remove Edited/ }).click();
  assert.equal(await entries.count(), 2);
  await page.reload();
  await entries.first().waitFor();
  const left = await entries.evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.id));
  assert.deepEqual(left, [viewed.id, owned.id]);
});
