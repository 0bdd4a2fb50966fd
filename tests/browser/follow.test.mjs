// Follow mode: Bob follows Ann's view (her pan and zoom) live; panning by hand, Escape, or Ann
// leaving stops it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, ctrlWheel, drawWithMouse, eventually, openBoard, useServerAndBrowser, viewOf,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/**
 * Whether `b` shows `a` fitted: same centre, `a` inside `b`, and touching it on one axis.
 * @param {{x: number, y: number, width: number, height: number}} a
 * @param {{x: number, y: number, width: number, height: number}} b
 */
function fits(a, b, tol = 4) {
  const centred = Math.abs(a.x + a.width / 2 - (b.x + b.width / 2)) < tol && Math.abs(a.y + a.height / 2 - (b.y + b.height / 2)) < tol;
  const inside = b.width >= a.width - tol && b.height >= a.height - tol;
  const snug = Math.abs(b.width - a.width) < tol || Math.abs(b.height - a.height) < tol;
  return centred && inside && snug;
}

test('Bob follows Ann\'s view until he pans by hand', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Lecture', width: 1600, height: 1000 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1100, height: 700 });
  const bob = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Bob', { width: 900, height: 760 });
  await drawWithMouse(ann, [[200, 200], [800, 500], [1400, 200]]);

  await bob.getByRole('button', { name: "Follow Ann's view" }).click();
  assert.ok(await bob.locator('.follow-banner').isVisible());
  assert.match((await bob.locator('.follow-banner').textContent()) ?? '', /Following\s+Ann/);

  // Ann zooms in at a point and pans: Bob's view follows.
  await ctrlWheel(ann, 800, 300, -250, 6);
  await ann.keyboard.down('Space');
  await ann.mouse.move(600, 400);
  await ann.mouse.down();
  await ann.mouse.move(450, 300, { steps: 5 });
  await ann.mouse.up();
  await ann.keyboard.up('Space');
  const target = await viewOf(ann);
  assert.ok(target.width < 1000, `Ann zoomed in: ${JSON.stringify(target)}`);
  await eventually(async () => fits(target, await viewOf(bob)), "Bob's view fits Ann's");
  await bob.screenshot({ path: join(artifacts(), 'following.png') });
  // Bob's window changes size: he still sees Ann's view.
  await bob.setViewportSize({ width: 820, height: 600 });
  await eventually(async () => fits(target, await viewOf(bob)), "Bob's resized view still fits Ann's");
  assert.ok(await bob.locator('.follow-banner').isVisible(), 'still following');

  // Ann zooms out (keyboard): Bob follows again.
  await ann.keyboard.press('-');
  await ann.keyboard.press('-');
  const wider = await viewOf(ann);
  await eventually(async () => fits(wider, await viewOf(bob)), "Bob follows Ann's zoom-out");

  // Bob pans by hand: following stops, and Ann's next moves no longer move him.
  await bob.keyboard.down('Space');
  await bob.mouse.move(400, 400);
  await bob.mouse.down();
  await bob.mouse.move(300, 350, { steps: 3 });
  await bob.mouse.up();
  await bob.keyboard.up('Space');
  assert.equal(await bob.locator('.follow-banner').isVisible(), false, 'banner gone');
  const mine = await viewOf(bob);
  await ann.keyboard.press('0');
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(await viewOf(bob), mine, 'no longer following');

  // Escape stops following too.
  await bob.getByRole('button', { name: "Follow Ann's view" }).click();
  await eventually(async () => fits(await viewOf(ann), await viewOf(bob)), 'following again');
  await bob.keyboard.press('Escape');
  assert.equal(await bob.locator('.follow-banner').isVisible(), false, 'Escape stops');

  // Following stops when Ann leaves.
  await bob.getByRole('button', { name: "Follow Ann's view" }).click();
  assert.ok(await bob.locator('.follow-banner').isVisible());
  await ann.context().close();
  await eventually(async () => !(await bob.locator('.follow-banner').isVisible()), 'stopped when Ann left');
  assert.ok((await bob.locator('.toast').allTextContents()).some((t) => t.includes('Ann left')));
});

test('a late joiner can follow at once: it gets everyone\'s view after syncing', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Late', width: 1600, height: 1000 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1100, height: 700 });
  await ctrlWheel(ann, 300, 300, -250, 3);
  const target = await viewOf(ann);
  await new Promise((r) => setTimeout(r, 200));
  const cat = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Cat', { width: 1100, height: 700 });
  await cat.getByRole('button', { name: "Follow Ann's view" }).click();
  await eventually(async () => fits(target, await viewOf(cat)), "Cat shows Ann's view");
});
