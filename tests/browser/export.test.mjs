// Export: the Export dialog downloads the server's PNG at the chosen scale, with or without the
// background, and the file has the room's size (× scale) and the drawn pixels.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, openBoard, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);
const red = (/** @type {number[]} */ p) => p[3] > 200 && p[0] > 180 && p[1] < 90 && p[2] < 90;

/**
 * Opens the Export dialog, picks a scale and background, and downloads.
 * @param {import('playwright-core').Page} page
 * @param {string} scale
 * @param {boolean} transparent
 */
async function exportPng(page, scale, transparent) {
  await page.getByRole('button', { name: /Export/ }).click();
  await page.locator(`#export-dialog input[name=scale][value="${scale}"]`).check();
  await page.locator('#export-transparent').setChecked(transparent);
  const waiting = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download PNG' }).click();
  const download = await waiting;
  const file = await download.path();
  return { name: download.suggestedFilename(), url: download.url(), png: decodePng(await readFile(file)) };
}

test('the export button downloads the PNG at 1x, 2x and 0.5x, with or without background', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Export me', width: 1000, height: 600, background: '#ffffff' });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  await ann.locator('.swatch[data-color="#e03131"]').click();
  await ann.locator('#width').fill('20');
  await drawWithMouse(ann, [[100, 300], [900, 300]]);
  await eventually(async () => (await (await fetch(`${ctx.server.url}/api/rooms/${room.id}`)).json()).seq === 1, 'commit');

  const one = await exportPng(ann, '1', false);
  // The file says what it holds: the board, the image's size and its background.
  assert.equal(one.name, 'Export-me-1000x600-white.png');
  assert.equal(one.png.width, 1000);
  assert.equal(one.png.height, 600);
  assert.ok(red(one.png.at(500, 300)), `red stroke: ${one.png.at(500, 300)}`);
  assert.deepEqual(one.png.at(500, 100), [255, 255, 255, 255], 'white background');
  assert.ok(!(await ann.locator('#export-dialog').isVisible()), 'the dialog closes');

  const two = await exportPng(ann, '2', true);
  assert.match(two.url, /scale=2&background=transparent$/);
  assert.equal(two.name, 'Export-me-2000x1200-transparent.png');
  assert.equal(two.png.width, 2000);
  assert.equal(two.png.height, 1200);
  assert.ok(red(two.png.at(1000, 600)), `red at 2x: ${two.png.at(1000, 600)}`);
  assert.equal(two.png.at(1000, 200)[3], 0, 'transparent background');

  // A viewer can export too.
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');
  const half = await exportPng(vic, '0.5', false);
  assert.equal(half.png.width, 500);
  assert.equal(half.png.height, 300);
  assert.equal(half.name, 'Export-me-500x300-white.png');
  assert.ok(red(half.png.at(250, 150)), `red at 0.5x: ${half.png.at(250, 150)}`);

  await ann.getByRole('button', { name: /Export/ }).click();
  await ann.screenshot({ path: join(artifacts(), 'export-dialog.png') });
});

test('scales whose image would be too large are not offered', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Huge', width: 8192, height: 8192 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic');
  await page.locator('#export').click();
  assert.equal(await page.locator('input[name=scale][value="2"]').isDisabled(), true);
  assert.equal(await page.locator('input[name=scale][value="1"]').isDisabled(), false);
  assert.match((await page.locator('.export-size[data-scale="2"]').textContent()) ?? '', /16384 × 16384/);
});
