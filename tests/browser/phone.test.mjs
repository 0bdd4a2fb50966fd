// The phone layout, as a person holding one uses it: the board fills the screen's width, the
// essentials sit in a dock within the thumb's reach and the rest in a sheet, the pen keeps its
// width on screen at any zoom, a tap outside an open drawer, sheet, menu or dialog only closes
// it, and a toolbar tap right after a finger stroke is never lost.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, eventually, openBoard, rawInput, roomSeq, toPage, useServerAndBrowser,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);
const PHONE = { hasTouch: true, isMobile: true };
const PORTRAIT = { width: 390, height: 844 };
const LANDSCAPE = { width: 844, height: 390 };
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const DOCK = ['.tool[data-tool=pen]', '.tool[data-tool=highlighter]', '.tool[data-tool=eraser]', '.tool[data-tool=line]',
  '.tool[data-tool=rect]', '.tool[data-tool=ellipse]', '.tool[data-tool=fill]', '.tool[data-tool=text]', '#color-now', '#width', '#undo', '#redo', '#more'];

/**
 * Draws with one finger through page points.
 * @param {Awaited<ReturnType<typeof rawInput>>} input
 * @param {Array<{x: number, y: number}>} points
 */
async function swipe(input, points) {
  await input.touchStart([{ ...points[0], id: 1 }]);
  for (const p of points.slice(1)) {
    await input.touchMove([{ ...p, id: 1 }]);
    await sleep(20);
  }
  await input.touchEnd();
}

/** The canvas pixel under a page point. @param {import('playwright-core').Page} page @param {number} x @param {number} y */
async function canvasAt(page, x, y) {
  return page.evaluate(([px, py]) => {
    const r = /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect();
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-base'));
    return [Math.round(((px - r.left) * c.width) / r.width), Math.round(((py - r.top) * c.height) / r.height)];
  }, [x, y]);
}

/** @param {import('playwright-core').Page} page @param {string} sel */
async function box(page, sel) {
  const b = await page.locator(sel).first().boundingBox();
  assert.ok(b, `${sel} has a box`);
  return b;
}

test('on a phone, a tap outside an open drawer, sheet, menu or dialog closes it and draws nothing', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Taps', width: 1000, height: 1000 });
  const ann = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', PORTRAIT, PHONE);
  const stage = await box(ann, '.stage');
  const y = stage.y + stage.height / 2;
  /** Page points where a closing tap landed on the board. */
  const taps = [];

  // The people drawer covers the right of the screen; a tap on the board left of it closes it.
  await ann.locator('#people-toggle').tap();
  assert.ok(await ann.locator('.people').isVisible(), 'the drawer is open');
  await ann.touchscreen.tap(30, y);
  taps.push([30, y]);
  await eventually(async () => !(await ann.locator('.people').isVisible()), 'the drawer closed');
  // The sheet of more tools, the zoom menu, the Share dialog: the same.
  await ann.locator('#more').tap();
  assert.ok(await ann.locator('#opacity').isVisible(), 'the sheet is open');
  await ann.touchscreen.tap(120, stage.y + 60);
  taps.push([120, stage.y + 60]);
  await eventually(async () => !(await ann.locator('#opacity').isVisible()), 'the sheet closed');
  const level = await ann.locator('#zoom-fit').textContent();
  await ann.locator('#zoom-fit').tap();
  assert.ok(await ann.locator('#zoom-menu').isVisible(), 'the zoom menu is open');
  await ann.touchscreen.tap(200, y - 100);
  taps.push([200, y - 100]);
  await eventually(async () => !(await ann.locator('#zoom-menu').isVisible()), 'the menu closed');
  assert.equal(await ann.locator('#zoom-fit').textContent(), level, 'the zoom did not change');
  await ann.locator('#share').tap();
  const dialog = await box(ann, '#share-dialog');
  assert.ok(dialog.y + dialog.height < stage.y + stage.height - 60, 'room below the dialog');
  await ann.touchscreen.tap(200, stage.y + stage.height - 30);
  taps.push([200, stage.y + stage.height - 30]);
  await eventually(async () => !(await ann.locator('#share-dialog').isVisible()), 'the dialog closed');

  // A tap on the board with nothing open draws a dot: the first op, so the others drew nothing.
  await ann.touchscreen.tap(300, y + 100);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the dot committed');
  await ann.locator('.board[data-seq="1"]').waitFor();
  assert.equal(await roomSeq(ctx.server.url, room.id), 1);
  const png = decodePng(Buffer.from(await (await fetch(`${ctx.server.url}/api/rooms/${room.id}/canvas.png?background=transparent`)).arrayBuffer()));
  const [dx, dy] = await canvasAt(ann, 300, y + 100);
  assert.ok(png.at(dx, dy)[3] > 200, 'the dot is there');
  for (const [x, ty] of taps) {
    const [cx, cy] = await canvasAt(ann, x, ty);
    if (cx >= 0 && cy >= 0 && cx < 1000 && cy < 1000) assert.equal(png.at(cx, cy)[3], 0, `nothing where a closing tap landed (${cx}, ${cy})`);
  }
});

test('the phone layout: the board fills the width, the essentials are in thumb reach, the rest in a sheet, the pen keeps its width on screen', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Physics lecture', width: 1600, height: 900 });
  const context = await ctx.browser.newContext({ viewport: PORTRAIT, ...PHONE });
  await context.addInitScript(() => localStorage.setItem('inkroom.name', 'Pat'));
  const pat = await context.newPage();
  /** Widths of the strokes the page sends. @type {number[]} */
  const widths = [];
  pat.on('websocket', (ws) => ws.on('framesent', (f) => {
    const msg = typeof f.payload === 'string' ? JSON.parse(f.payload) : null;
    if (msg?.type === 'stroke_begin') widths.push(msg.width);
  }));
  await pat.goto(ctx.server.url + room.edit_url);
  await pat.waitForSelector('body[data-synced]');

  // Fitted to the width, edge to edge; nothing scrolls sideways.
  const board = await box(pat, '.board');
  assert.ok(Math.abs(board.x) < 1 && Math.abs(board.width - 390) < 1, `fits the width: ${JSON.stringify(board)}`);
  assert.ok(await pat.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scroll');
  assert.ok(await pat.locator('.toolbar').evaluate((el) => el.scrollWidth <= el.clientWidth), 'the dock does not scroll');
  // Every tool's label shows whole.
  const clipped = await pat.locator('.toolbar .tools .tool').evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.textContent));
  assert.deepEqual(clipped, [], 'no tool label is cut');
  // The essentials are on screen, in the bottom quarter (the thumb's), without scrolling.
  for (const sel of DOCK) {
    const b = await box(pat, sel);
    assert.ok(await pat.locator(sel).isVisible(), `${sel} visible`);
    assert.ok(b.x >= 0 && b.x + b.width <= 390 && b.y >= 844 * 0.75 && b.y + b.height <= 844, `${sel} in thumb reach: ${JSON.stringify(b)}`);
  }
  assert.ok(await pat.locator('#help').isVisible(), 'a help button');
  // The rest is in the sheet.
  for (const sel of ['#opacity', '#clear', '.palette .swatch', '#fill-shapes']) assert.equal(await pat.locator(sel).first().isVisible(), false, `${sel} in the sheet`);
  await pat.locator('#more').tap();
  for (const sel of ['#opacity', '#clear', '.palette .swatch', '#fill-shapes', '#color-custom']) {
    const b = await box(pat, sel);
    assert.ok(b.y >= 0 && b.y + b.height <= 844 && b.x + b.width <= 390, `${sel} on screen in the sheet: ${JSON.stringify(b)}`);
  }
  await pat.locator('.palette .swatch[data-color="#1971c2"]').tap();
  assert.equal(await pat.locator('.palette .swatch[data-color="#1971c2"]').getAttribute('aria-pressed'), 'true');
  await pat.screenshot({ path: join(artifacts(), 'phone-portrait-sheet.png') });
  await pat.locator('#more').tap();
  assert.equal(await pat.locator('#opacity').isVisible(), false, 'More closes the sheet again');

  // A 6 px pen draws 6 px on screen, fitted or zoomed in.
  const input = await rawInput(pat);
  const scale = async () => (await box(pat, '.board')).width / 1600;
  const line = async (/** @type {number} */ y) => {
    const a = await toPage(pat, 300, y);
    await swipe(input, [0, 1, 2, 3, 4, 5].map((i) => ({ x: a.x + i * 40, y: a.y })));
  };
  const k1 = await scale();
  await line(300);
  await eventually(async () => widths.length === 1, 'the first stroke sent');
  assert.ok(Math.abs(widths[0] * k1 - 6) < 0.05, `6 px on screen when fitted: ${widths[0]} canvas px at ${k1}`);
  await pat.locator('#zoom-in').tap();
  await pat.locator('#zoom-in').tap();
  const k2 = await scale();
  assert.ok(k2 > k1 * 1.5, `zoomed in: ${k1} to ${k2}`);
  await line(350);
  await eventually(async () => widths.length === 2, 'the second stroke sent');
  assert.ok(Math.abs(widths[1] * k2 - 6) < 0.05, `6 px on screen zoomed in: ${widths[1]} canvas px at ${k2}`);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 2, 'both committed');
  await pat.keyboard.press('0');
  await pat.screenshot({ path: join(artifacts(), 'phone-portrait.png') });

  // A viewer's page: the board's name has room, and help is there.
  const vic = await openBoard(ctx.browser, ctx.server.url + room.view_url, 'Vic', PORTRAIT, PHONE);
  const name = vic.locator('.room-name');
  assert.equal(await name.textContent(), 'Physics lecture');
  assert.ok(await name.evaluate((el) => el.scrollWidth <= el.clientWidth), 'the board name is not cut');
  assert.ok(await vic.locator('#help').isVisible());
  assert.equal(await vic.locator('.role-badge').textContent(), 'View only');
  assert.ok(await vic.locator('.role-badge').isVisible());
  await vic.screenshot({ path: join(artifacts(), 'phone-viewer.png') });

  // Landscape: no side panels; the board fills the width; the dock is one low row.
  const lee = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Lee', LANDSCAPE, PHONE);
  const stage = await box(lee, '.stage');
  assert.ok(stage.x < 1 && stage.width > 843, `the board has the whole width: ${JSON.stringify(stage)}`);
  const wide = await box(lee, '.board');
  assert.ok(Math.abs(wide.width - 844) < 1, `fits the width: ${JSON.stringify(wide)}`);
  assert.ok((await box(lee, '.toolbar')).height <= 60, 'a low dock');
  assert.ok(stage.height >= 390 - 110, `most of the height for the board: ${stage.height}`);
  for (const sel of DOCK) {
    const b = await box(lee, sel);
    assert.ok(b.x >= 0 && b.x + b.width <= 844 && b.y + b.height <= 390, `${sel} on screen: ${JSON.stringify(b)}`);
  }
  assert.equal(await lee.locator('.people').isVisible(), false, 'people in a drawer');
  await lee.screenshot({ path: join(artifacts(), 'phone-landscape.png') });
  await context.close();
});

test('a toolbar tap right after a finger stroke is not lost', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Quick taps', width: 1000, height: 1000 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Tia', PORTRAIT, PHONE);
  const input = await rawInput(page);
  const board = await box(page, '.board');
  let n = 0;
  for (const tool of ['highlighter', 'eraser', 'pen', 'highlighter', 'pen']) {
    const y = board.y + 40 + n * 60;
    await swipe(input, [0, 1, 2, 3, 4].map((i) => ({ x: 60 + i * 50, y })));
    n += 1;
    // At once: the finger lifts from the board and taps the tool.
    const b = await box(page, `.tool[data-tool=${tool}]`);
    await input.touchStart([{ x: b.x + b.width / 2, y: b.y + b.height / 2, id: 2 }]);
    await input.touchEnd();
    await eventually(async () => (await page.locator(`.tool[data-tool=${tool}]`).getAttribute('aria-pressed')) === 'true', `the tap on ${tool} after stroke ${n}`, 1000);
  }
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 5, 'every stroke committed');
});
