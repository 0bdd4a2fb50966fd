// The History panel (time travel), as people use it: the owner scrubs back a step and sees the
// board as it was in the preview while the live board stays as it is, downloads that moment,
// restores it after a confirmation (everyone's board changes, the Undo brings it back); viewers
// and editors of an owned board get no Restore button; a busy timelapse says so; on a phone the
// panel is a sheet that fits the screen.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, openBoard, pixel, roomSeq, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

const isInk = (/** @type {number[]} */ p) => p[3] > 200 && p[0] < 80 && p[1] < 80 && p[2] < 80;

/**
 * Whether the history preview shows dark ink near canvas point (x, y): its picture is drawn onto
 * a canvas and a small square around the point is searched (the preview is scaled down).
 * @param {import('playwright-core').Page} page
 * @param {number} x @param {number} y canvas pixels
 * @param {number} boardWidth the board's width in canvas pixels
 */
async function previewInk(page, x, y, boardWidth) {
  return page.evaluate(([cx, cy, bw]) => {
    const img = /** @type {HTMLImageElement} */ (document.querySelector('.history-image'));
    if (!img.complete || !img.naturalWidth) return false;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
    g.drawImage(img, 0, 0);
    const k = img.naturalWidth / bw;
    const px = Math.round(cx * k);
    const py = Math.round(cy * k);
    const d = g.getImageData(px - 3, py - 3, 7, 7).data;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] < 160 && d[i + 1] < 160 && d[i + 2] < 160) return true;
    return false;
  }, [x, y, boardWidth]);
}

/** @param {import('playwright-core').Page} page */
const stepText = (page) => page.locator('.history-step').textContent();

test('the owner scrubs back a step, sees it, restores it, and Undo brings the rest back', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Time travel', width: 1200, height: 800 });
  const olga = await openBoard(ctx.browser, `${ctx.server.url}${room.edit_url}&owner=${room.owner_key}`, 'Olga', { width: 1280, height: 800 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');

  // Step 1: a line at y 200; step 2: a line at y 500.
  await drawWithMouse(olga, [[100, 200], [700, 200]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the first line');
  await drawWithMouse(olga, [[100, 500], [700, 500]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 2, 'the second line');
  for (const page of [olga, ann]) await eventually(async () => isInk(await pixel(page, 'base', 300, 500)), 'the second line drawn');

  // Open History: it starts at the newest step, with its time.
  await olga.locator('#history-toggle').click();
  assert.equal(await olga.locator('#history-toggle').getAttribute('aria-expanded'), 'true');
  await eventually(async () => (await stepText(olga)) === 'Step 2 of 2', 'the history loaded');
  assert.match(await olga.locator('.history-time').textContent() ?? '', /(today|yesterday).*now/);
  await eventually(async () => (await olga.locator('.history-image').getAttribute('data-seq')) === '2', 'the preview of step 2');
  await eventually(() => previewInk(olga, 300, 500, 1200), 'the preview shows the second line');

  // One step back with the keyboard: the preview shows the first line and not the second.
  assert.equal(await olga.evaluate(() => document.activeElement?.id), 'history-slider', 'the slider has the focus');
  await olga.keyboard.press('ArrowLeft');
  assert.equal(await stepText(olga), 'Step 1 of 2');
  await eventually(async () => (await olga.locator('.history-image').getAttribute('data-seq')) === '1', 'the preview of step 1');
  await eventually(() => previewInk(olga, 300, 200, 1200), 'the preview shows the first line');
  assert.equal(await previewInk(olga, 300, 500, 1200), false, 'the preview does not show the second line');
  // Scrubbing touched nothing: the live board and the room are as they were.
  assert.ok(isInk(await pixel(olga, 'base', 300, 500)), 'the live board keeps the second line');
  assert.equal(await roomSeq(ctx.server.url, room.id), 2);

  // "Download this moment" is the full-size PNG of step 1.
  const link = olga.locator('.history-download');
  const href = await link.getAttribute('href') ?? '';
  assert.match(href, /\/canvas\.png\?seq=1$/);
  assert.equal(await link.getAttribute('download'), 'Time-travel-step-1.png');
  const waiting = olga.waitForEvent('download');
  await link.click();
  const download = await waiting;
  assert.equal(download.suggestedFilename(), 'Time-travel-step-1.png');
  const moment = decodePng(await readFile(/** @type {string} */ (await download.path())));
  assert.equal(moment.width, 1200);
  assert.ok(isInk(moment.at(300, 200)) && !isInk(moment.at(300, 500)), 'the download is step 1');
  await olga.screenshot({ path: join(artifacts(), 'history-panel.png') });

  // Restore step 1, after a confirmation in the page's own dialog.
  await olga.locator('.history-restore').click();
  await olga.locator('#restore-dialog').waitFor({ state: 'visible' });
  assert.equal(await olga.locator('#restore-title').textContent(), 'Restore the board to step 1?');
  assert.match(await olga.locator('.restore-text').textContent() ?? '', /Everyone sees the change; you can undo it\./);
  await olga.screenshot({ path: join(artifacts(), 'history-confirm.png') });
  await olga.locator('#restore-ok').click();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 3, 'the restore committed');
  await eventually(async () => !(await olga.locator('.history-panel').isVisible()), 'the panel closed on commit');
  for (const [page, who] of [[olga, 'Olga'], [ann, 'Ann']]) {
    await eventually(async () => !isInk(await pixel(page, 'base', 300, 500)), `the second line gone at ${who}`);
    assert.ok(isInk(await pixel(page, 'base', 300, 200)), `the first line stays at ${who}`);
  }

  // Olga's Undo brings the second line back everywhere.
  await olga.locator('#undo').click();
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 4, 'the undo');
  for (const [page, who] of [[olga, 'Olga'], [ann, 'Ann']]) {
    await eventually(async () => isInk(await pixel(page, 'base', 300, 500)), `the second line back at ${who}`);
  }

  // Ann, an editor of a board with an owner, may look but not restore.
  await ann.keyboard.press('y');
  await eventually(async () => (await stepText(ann)) === 'Step 4 of 4', "Ann's history loaded");
  assert.equal(await ann.locator('.history-restore').isVisible(), false, 'no Restore for an editor of an owned board');
  // While it is open, new steps extend the range.
  await drawWithMouse(olga, [[100, 650], [700, 650]]);
  await eventually(async () => (await stepText(ann)) === 'Step 5 of 5', 'the range follows the room');
});

test("a viewer's panel: Y opens it, no Restore, a busy timelapse says so, the timelapse downloads", async () => {
  const room = await createRoom(ctx.server.url, { name: 'Watched', width: 800, height: 600 });
  const ed = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ed');
  await drawWithMouse(ed, [[100, 100], [500, 300]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'a line');
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic', { width: 1280, height: 800 });

  await vic.keyboard.press('y');
  await eventually(async () => (await stepText(vic)) === 'Step 1 of 1', 'the history loaded');
  assert.equal(await vic.locator('.history-restore').isVisible(), false, 'no Restore for a viewer');
  assert.ok(await vic.locator('.history-download').isVisible());
  await vic.locator('.history-prev').click();
  assert.equal(await stepText(vic), 'Step 0 of 1');
  assert.match(await vic.locator('.history-download').getAttribute('href') ?? '', /\/canvas\.png\?seq=0$/);

  // Another timelapse being made: a toast says so, and the button comes back.
  await vic.route('**/timelapse.png*', (route) => route.fulfill({
    status: 429, headers: { 'Retry-After': '7', 'Content-Type': 'application/json' },
    body: JSON.stringify({ error: { code: 'busy', message: 'another timelapse is being rendered' } }),
  }));
  await vic.locator('.history-timelapse').click();
  await vic.locator('.toast', { hasText: 'Another timelapse is being made right now; try again in 7 s.' }).waitFor();
  await eventually(async () => (await vic.locator('.history-timelapse').textContent()) === 'Timelapse', 'the button is back');
  assert.equal(await vic.locator('.history-timelapse').isEnabled(), true);
  await vic.unroute('**/timelapse.png*');

  // The real one: an animated PNG named after the board. The request is held until the button
  // has been seen busy.
  /** @type {() => void} */
  let release = () => {};
  const held = new Promise((r) => { release = () => r(undefined); });
  await vic.route('**/timelapse.png*', async (route) => {
    await held;
    await route.continue();
  });
  const waiting = vic.waitForEvent('download', { timeout: 60000 });
  await vic.locator('.history-timelapse').click();
  assert.equal(await vic.locator('.history-timelapse').textContent(), 'Rendering…');
  assert.equal(await vic.locator('.history-timelapse').isDisabled(), true, 'disabled while it renders');
  release();
  const download = await waiting;
  assert.equal(download.suggestedFilename(), 'Watched-timelapse.png');
  const file = await readFile(/** @type {string} */ (await download.path()));
  assert.equal(file.readUInt32BE(0), 0x89504e47, 'a PNG');
  assert.ok(file.includes(Buffer.from('acTL')), 'an animated PNG');

  // Escape closes it and gives the focus back to the History button.
  await vic.locator('.history-slider').focus();
  await vic.keyboard.press('Escape');
  assert.equal(await vic.locator('.history-panel').isVisible(), false);
  assert.equal(await vic.evaluate(() => document.activeElement?.id), 'history-toggle');
});

test('on a phone the panel is a sheet that fits the screen', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Pocket', width: 1600, height: 900 });
  const pat = await openBoard(ctx.browser, `${ctx.server.url}${room.edit_url}&owner=${room.owner_key}`, 'Pat', { width: 390, height: 844 }, { hasTouch: true, isMobile: true });
  await drawWithMouse(pat, [[200, 300], [1200, 600]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'a line');
  await pat.locator('#history-toggle').tap();
  await eventually(async () => (await stepText(pat)) === 'Step 1 of 1', 'the history loaded');
  await eventually(async () => (await pat.locator('.history-image').getAttribute('data-seq')) === '1', 'the preview');
  assert.ok(await pat.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scroll');
  const panel = await pat.locator('.history-panel').boundingBox();
  assert.ok(panel && panel.x >= 0 && panel.x + panel.width <= 390 && panel.y >= 0 && panel.y + panel.height <= 844, `inside the screen: ${JSON.stringify(panel)}`);
  for (const sel of ['.history-slider', '.history-download', '.history-timelapse', '.history-restore']) {
    const b = await pat.locator(sel).boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= 390 && b.y + b.height <= 844, `${sel} on screen: ${JSON.stringify(b)}`);
  }
  await pat.screenshot({ path: join(artifacts(), 'history-phone.png') });
  // A tap on the board outside the sheet closes it and draws nothing.
  await pat.touchscreen.tap(195, 120);
  await eventually(async () => !(await pat.locator('.history-panel').isVisible()), 'the sheet closed');
  assert.equal(await roomSeq(ctx.server.url, room.id), 1, 'the tap drew nothing');
});
