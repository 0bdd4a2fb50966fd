// The keyboard as people use it: Space + drag pans whatever has the focus, and never presses
// the focused button; a double-click on the board draws nothing; single-key shortcuts show that
// they fired; `[` and `]` step the width evenly.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  artifacts, createRoom, decodePng, drawWithMouse, eventually, liveInk, openBoard, pixel, roomSeq, toPage,
  useServerAndBrowser, viewOf,
} from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/**
 * Holds Space and drags the mouse from one page point to another.
 * @param {import('playwright-core').Page} page
 * @param {[number, number]} from
 * @param {[number, number]} to
 */
async function spaceDrag(page, from, to) {
  await page.keyboard.down('Space');
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Space');
}

/** @param {import('playwright-core').Page} page */
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el instanceof HTMLElement && el.dataset.tool ? `[${el.dataset.tool}]` : ''}` : '';
});

test('Space + drag pans whatever has the focus, and never presses the focused button', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Pan', width: 1600, height: 1000 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1280, height: 800 });

  /**
   * Pans by (-100, -60) page pixels and checks that the view moved by as much.
   * @param {string} why
   */
  const pans = async (why) => {
    const v0 = await viewOf(page);
    await spaceDrag(page, [700, 450], [600, 390]);
    const v1 = await viewOf(page);
    const shown = (await page.locator('.board').boundingBox())?.width ?? 1;
    const perPx = 1600 / shown; // canvas px per page px
    assert.ok(Math.abs(v1.x - v0.x - 100 * perPx) < 2 && Math.abs(v1.y - v0.y - 60 * perPx) < 2, `${why}: panned ${JSON.stringify([v0, v1])}`);
  };

  // After clicking a tool button, with the focus on it.
  await page.locator('.tool[data-tool=line]').click();
  assert.equal(await focused(page), 'button[line]');
  await pans('a tool button has the focus');
  // After moving the width slider.
  await page.locator('#width').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(page), 'input#width');
  await pans('the width slider has the focus');
  // After closing the Share dialog, the focus is back on Share; releasing Space does not reopen it.
  await page.locator('.tool[data-tool=pen]').click();
  await page.getByRole('button', { name: 'Share' }).click();
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#share-dialog').isVisible(), false);
  assert.equal(await focused(page), 'button#share');
  await pans('Share has the focus');
  assert.equal(await page.locator('#share-dialog').isVisible(), false, 'Space did not press Share');
  assert.equal(await liveInk(page), false, 'nothing drawn on screen');

  // Nothing reached the board: the next op, a stroke, is the first.
  await page.keyboard.press('0');
  await drawWithMouse(page, [[200, 800], [600, 820]]);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the stroke committed');
  await page.locator('.board[data-seq="1"]').waitFor();
  assert.equal(await roomSeq(ctx.server.url, room.id), 1, 'the pans drew nothing');

  // A tap of Space (no drag) on a focused button still presses it, for keyboard users.
  await page.locator('#help').focus();
  await page.keyboard.press('Space');
  assert.ok(await page.locator('#help-dialog').isVisible(), 'Space pressed the focused ? button');
  await page.keyboard.press('Escape');
  // In a text field Space is a space.
  await page.locator('#my-name').fill('Ann');
  // The caret at the end, whatever focus moves the closing dialog made meanwhile.
  await page.locator('#my-name').press('End');
  await page.locator('#my-name').press('Space');
  assert.equal(await page.locator('#my-name').inputValue(), 'Ann ');
});

test('a double-click on the board draws nothing; a click draws a dot; typed letters show the tool they chose', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Type', width: 1200, height: 800 });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann', { width: 1280, height: 800 });
  // Every flash of a tool button, as it starts.
  await page.evaluate(() => {
    const seen = /** @type {string[]} */ ([]);
    Object.assign(window, { flashes: seen });
    document.addEventListener('animationstart', (e) => {
      if (e.animationName === 'tool-flash') seen.push(/** @type {HTMLElement} */ (e.target).dataset.tool ?? '');
    });
  });

  const at = await toPage(page, 300, 300);
  await page.mouse.dblclick(at.x, at.y);
  await page.keyboard.type('Hello');
  assert.equal(await page.locator('.tool[data-tool=ellipse]').getAttribute('aria-pressed'), 'true');
  // (L typed twice within one frame lights Line once.)
  const flashes = () => page.evaluate(() => /** @type {string[]} */ (/** @type {any} */ (window).flashes).filter((t, i, all) => t !== all[i - 1]).join(' '));
  await eventually(async () => (await flashes()) === 'highlighter eraser line ellipse', 'each shortcut lit its button');
  const toast = page.locator('.toast', { hasText: 'single keys switch tools' });
  await toast.waitFor();
  assert.match((await toast.textContent()) ?? '', /^Ellipse \(O\): .*Press \? to see them all/, 'it names the tool chosen last');
  assert.equal(await page.locator('.toast').count(), 1, 'one toast, on the first shortcut only');
  await page.screenshot({ path: join(artifacts(), 'shortcut-toast.png') });

  // A single click with the pen is a dot; it is the first op: the double-click drew nothing.
  await page.keyboard.press('b');
  const dot = await toPage(page, 800, 500);
  await page.mouse.click(dot.x, dot.y);
  await eventually(async () => (await roomSeq(ctx.server.url, room.id)) === 1, 'the dot committed');
  await page.locator('.board[data-seq="1"]').waitFor();
  assert.ok((await pixel(page, 'base', 800, 500))[3] > 200, 'the dot is there');
  const png = decodePng(Buffer.from(await (await fetch(`${ctx.server.url}/api/rooms/${room.id}/canvas.png?background=transparent`)).arrayBuffer()));
  assert.equal(png.at(300, 300)[3], 0, 'no dot where the double-click was');
  assert.equal((await pixel(page, 'base', 300, 300))[3], 0);
  assert.equal((await pixel(page, 'live', 300, 300))[3], 0);
  assert.equal(await roomSeq(ctx.server.url, room.id), 1);
});

test('[ and ] step the width evenly, and back to where they started', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Widths' });
  const page = await openBoard(ctx.browser, ctx.server.url + room.edit_url, 'Ann');
  const width = async () => page.locator('.width-value').textContent();
  assert.equal(await width(), '6px');
  const seen = [];
  for (const key of [']', ']', ']', ']', '[', '[', '[', '[', '[', '[']) {
    await page.keyboard.press(key);
    seen.push(await width());
  }
  assert.deepEqual(seen, ['8px', '10px', '12px', '16px', '12px', '10px', '8px', '6px', '4px', '3px']);
  assert.equal(await page.locator('#width').inputValue(), '3');
  // From a width set on the slider, to the nearest step either way.
  await page.locator('#width').fill('7');
  await page.locator('.board').click({ position: { x: 5, y: 5 }, trial: true });
  await page.keyboard.press(']');
  assert.equal(await width(), '8px');
  await page.locator('#width').fill('7');
  await page.keyboard.press('[');
  assert.equal(await width(), '6px');
});
