// Two editors and one viewer in real headless Chromium: live strokes, view-only, server export.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, drawWithMouse, eventually, openBoard, pixel, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const isInk = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80 && p[1] < 80 && p[2] < 80;

test('two editors see each other draw live, a viewer follows and cannot draw', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Browser test', width: 1200, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');

  // Everyone sees three members; the viewer is labelled and has no tools.
  for (const page of [ann, bob, vic]) {
    await eventually(async () => (await page.locator('.members li').count()) === 3, 'three members');
  }
  assert.equal(await vic.locator('.role-badge').textContent(), 'View only');
  assert.equal(await vic.locator('.toolbar').isVisible(), false);
  assert.equal(await ann.locator('.role-badge').textContent(), 'Editing');

  // Ann draws; Bob sees the stroke while Ann's button is still down.
  await drawWithMouse(ann, [[100, 100], [300, 120], [500, 140]], { release: false });
  await eventually(async () => isInk(await pixel(bob, 'live', 300, 120)), "Ann's live stroke at Bob");
  await eventually(async () => isInk(await pixel(vic, 'live', 300, 120)), "Ann's live stroke at the viewer");
  await ann.mouse.up();

  // After commit it is part of everyone's committed picture.
  for (const page of [ann, bob, vic]) {
    await eventually(async () => isInk(await pixel(page, 'base', 300, 120)), 'committed stroke');
  }

  // Bob draws in red; Ann sees it.
  await bob.locator('.swatch[data-color="#e03131"]').click();
  await drawWithMouse(bob, [[200, 500], [600, 520]]);
  await eventually(async () => {
    const p = await pixel(ann, 'base', 400, 510);
    return p[0] > 180 && p[1] < 90 && p[3] > 200;
  }, "Bob's red stroke at Ann");

  // The viewer cannot draw: its mouse stroke changes nothing anywhere.
  const seqBefore = (await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq;
  await drawWithMouse(vic, [[800, 600], [1000, 650]]);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await pixel(vic, 'base', 900, 625), [0, 0, 0, 0]);
  assert.deepEqual(await pixel(ann, 'base', 900, 625), [0, 0, 0, 0]);
  const info = await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json();
  assert.equal(info.seq, seqBefore);
  assert.equal(info.editors, 2);
  assert.equal(info.viewers, 1);

  // The server's PNG has both strokes, over the white background.
  const png = await vic.evaluate(async (id) => {
    const res = await fetch(`/api/rooms/${id}/canvas.png`);
    const bmp = await createImageBitmap(await res.blob());
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (c.getContext('2d'));
    ctx.drawImage(bmp, 0, 0);
    const at = (/** @type {number} */ x, /** @type {number} */ y) => Array.from(ctx.getImageData(x, y, 1, 1).data);
    return { w: bmp.width, h: bmp.height, ink: at(300, 120), red: at(400, 510), blank: at(900, 625) };
  }, room.id);
  assert.equal(png.w, 1200);
  assert.equal(png.h, 800);
  assert.ok(isInk(png.ink), `ink in export: ${png.ink}`);
  assert.ok(png.red[0] > 180 && png.red[1] < 90, `red in export: ${png.red}`);
  assert.deepEqual(png.blank, [255, 255, 255, 255]);

  // Renaming shows at once in the other pages' member lists.
  await bob.locator('#my-name').fill('Robert');
  await bob.locator('#my-name').press('Enter');
  await eventually(async () => (await ann.locator('.members').textContent())?.includes('Robert'), 'new name at Ann');
  await eventually(async () => (await vic.locator('.members').textContent())?.includes('Robert'), 'new name at the viewer');
  await eventually(async () => (await ann.locator('.cursor').allTextContents()).includes('Robert'), "Bob's cursor relabelled at Ann");

  const dir = artifacts();
  await ann.screenshot({ path: join(dir, 'collab-ann.png') });
  await bob.screenshot({ path: join(dir, 'collab-bob.png') });
  await vic.screenshot({ path: join(dir, 'collab-viewer.png') });
});
