// The Text tool in headless Chromium: T picks it, a click places a box, typing shows a live
// preview, Escape cancels without sending anything, Ctrl+Enter and a click elsewhere commit, and
// the text reaches another editor through the server's tiles.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { artifacts, createRoom, eventually, liveInk, openBoard, roomSeq, toPage, useServerAndBrowser } from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/**
 * Inked (non-transparent) pixels of a board layer inside a rectangle.
 * @param {import('playwright-core').Page} page
 * @param {'base' | 'live'} layer
 * @param {[number, number, number, number]} rect x, y, width, height in canvas px
 */
async function inkIn(page, layer, rect) {
  return page.evaluate(([l, [x, y, w, h]]) => {
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector(`canvas.board-${l}`));
    const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(x, y, w, h).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
    return n;
  }, /** @type {const} */ ([layer, rect]));
}

/**
 * Clicks a canvas pixel and waits for the text box to take the keyboard.
 * @param {import('playwright-core').Page} page @param {number} x @param {number} y
 */
async function place(page, x, y) {
  const at = await toPage(page, x, y);
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector('textarea.text-editor:focus');
}

test('the Text tool types text that lands for everyone; Escape cancels', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Text', width: 800, height: 500 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const bob = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Bob');
  /** The `text` messages Ann's page sends. @type {any[]} */
  const sent = [];
  ann.on('websocket', (ws) => ws.on('framesent', (f) => {
    if (typeof f.payload === 'string' && f.payload.includes('"text"')) {
      const m = JSON.parse(f.payload);
      if (m.type === 'text') sent.push(m);
    }
  }));
  await ann.reload();
  await ann.waitForSelector('body[data-synced]');

  await ann.keyboard.press('t');
  assert.equal(await ann.locator('.tool[data-tool="text"]').getAttribute('aria-pressed'), 'true', 'T picks the Text tool');
  const start = await roomSeq(ctx.server.url, room.id);

  // Escape: the preview goes and nothing is sent.
  await place(ann, 400, 300);
  await ann.keyboard.type('Gone');
  await eventually(() => liveInk(ann), 'the live preview while typing');
  await ann.keyboard.press('Escape');
  await eventually(async () => (await ann.locator('textarea.text-editor').count()) === 0, 'the box closed');
  await eventually(async () => !(await liveInk(ann)), 'the preview gone');

  // Typing with Enter for a new line, then Ctrl+Enter.
  await place(ann, 60, 80);
  await ann.keyboard.type('Hello');
  await ann.keyboard.press('Enter');
  await ann.keyboard.type('inkroom \u2713');
  await ann.keyboard.press('Control+Enter');
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === start + 1, 'the text committed');
  assert.equal(sent.length, 1, 'Escape sent nothing; Ctrl+Enter sent one text');
  assert.deepEqual(
    { x: sent[0].x, y: sent[0].y, text: sent[0].text, size: sent[0].size, color: sent[0].color },
    { x: 60, y: 80, text: 'Hello\ninkroom \u2713', size: 24, color: '#1f1f1f' },
  );
  // Two lines of 24 px text: both lines have ink, at Ann (committed) and at Bob (tiles).
  for (const page of [ann, bob]) {
    for (const line of [[60, 80, 120, 28], [60, 108, 160, 28]]) {
      await eventually(
        async () => (await inkIn(page, 'base', /** @type {[number, number, number, number]} */ (line))) > 100,
        `line at ${line[1]} on the board`,
      );
    }
  }
  assert.equal(await inkIn(bob, 'base', [380, 280, 200, 60]), 0, 'the cancelled text is nowhere');

  // A click elsewhere commits the open box (and opens none).
  await place(ann, 300, 300);
  await ann.keyboard.type('Second');
  const away = await toPage(ann, 700, 450);
  await ann.mouse.click(away.x, away.y);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === start + 2, 'the second text committed');
  assert.equal(await ann.locator('textarea.text-editor').count(), 0, 'no new box opened');
  await eventually(async () => (await inkIn(bob, 'base', [300, 300, 120, 30])) > 100, 'the second text at Bob');
  assert.equal(sent.at(-1).text, 'Second');

  // Typing at once after the click, before the box has the focus: every key is the box's, none
  // is a tool shortcut (H, E, L, O would switch tools).
  const quick = await toPage(ann, 60, 400);
  await ann.mouse.click(quick.x, quick.y);
  await ann.keyboard.type('Hello');
  await ann.keyboard.press('Control+Enter');
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === start + 3, 'the quick text committed');
  assert.equal(sent.at(-1).text, 'Hello', 'no key was lost to a shortcut');
  assert.equal(await ann.locator('.tool[data-tool="text"]').getAttribute('aria-pressed'), 'true', 'still the Text tool');

  const dir = artifacts();
  await ann.screenshot({ path: join(dir, 'text-ann.png') });
  await bob.screenshot({ path: join(dir, 'text-bob.png') });
});
