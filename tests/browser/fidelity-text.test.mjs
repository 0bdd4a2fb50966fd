// Text fidelity: the page fills the bundled font's outlines (render/text.js, font.js), the server
// fills the same outlines (src/canvas/text.rs); the share of pixels differing by more than 8/255
// in any channel must stay under 1% of the canvas, like the other ops (fidelity.test.mjs). Text is
// mostly edges, and edges are where Chrome's analytic coverage and tiny-skia's supersampling
// differ (by at most about 45/255), so the share of inked pixels is higher than for strokes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, useServerAndBrowser } from './harness.mjs';

const ctx = useServerAndBrowser(before, after);

/** Text ops: sizes from small to large, several lines, translucent, accents and symbols. */
function textOps() {
  return [
    { x: 20, y: 10, text: 'Hello, inkroom! The quick brown fox\njumps over the lazy dog. 0123456789', size: 28, color: '#1f1f1f' },
    { x: 30.5, y: 110.25, text: 'Ångström · Ωμέγα · жив → ✓', size: 36, color: '#e03131' },
    { x: 20, y: 170, text: 'Small print, twelve pixels: (a+b)² ≤ 2a² + 2b²', size: 12, color: '#343a40' },
    { x: 40, y: 200, text: 'Big Ag', size: 160, color: '#1971c280' },
  ].map((t, i) => ({ type: 'text', id: i + 1, ...t }));
}

/**
 * Renders the ops in the page and on the server; returns the comparison.
 * @param {import('playwright-core').Page} page
 * @param {{id: string, edit_key: string}} room
 */
async function compare(page, room) {
  return page.evaluate(async ({ room, ops }) => {
    const { drawItem } = await import('/static/js/render/stroke.js');
    const { loadTextFont } = await import('/static/js/render/text.js');
    if (!(await loadTextFont())) throw new Error('the text font did not load');
    const W = 800;
    const H = 600;
    const local = new OffscreenCanvas(W, H);
    const lctx = /** @type {any} */ (local.getContext('2d'));
    for (const op of ops) drawItem(lctx, { kind: 'text', ...op });

    const ws = new WebSocket(`ws://${location.host}/api/rooms/${room.id}/ws`);
    await new Promise((r) => ws.addEventListener('open', r));
    const commits = new Promise((resolve, reject) => {
      let n = 0;
      ws.addEventListener('message', (e) => {
        if (typeof e.data !== 'string') return;
        const m = JSON.parse(e.data);
        if (m.type === 'error') reject(new Error(m.message));
        if (m.type === 'commit' && ++n === ops.length) resolve(n);
      });
    });
    ws.send(JSON.stringify({ type: 'hello', name: 'fidelity', key: room.edit_key }));
    for (const op of ops) ws.send(JSON.stringify(op));
    await commits;
    const res = await fetch(`/api/rooms/${room.id}/canvas.png?background=transparent`);
    const bmp = await createImageBitmap(await res.blob(), { premultiplyAlpha: 'none' });
    const server = new OffscreenCanvas(W, H);
    const sctx = /** @type {any} */ (server.getContext('2d'));
    sctx.drawImage(bmp, 0, 0);
    const flatten = (/** @type {any} */ ctx) => {
      const d = ctx.getImageData(0, 0, W, H).data;
      const out = new Uint8ClampedArray(W * H * 3);
      for (let i = 0, j = 0; i < d.length; i += 4, j += 3) {
        const a = d[i + 3] / 255;
        for (let k = 0; k < 3; k++) out[j + k] = Math.round(d[i + k] * a + 255 * (1 - a));
      }
      return out;
    };
    const a = flatten(lctx);
    const b = flatten(sctx);
    let differ = 0;
    let inked = 0;
    for (let p = 0; p < W * H; p++) {
      let max = 0;
      let ink = false;
      for (let k = 0; k < 3; k++) {
        max = Math.max(max, Math.abs(a[p * 3 + k] - b[p * 3 + k]));
        ink ||= a[p * 3 + k] < 250 || b[p * 3 + k] < 250;
      }
      if (max > 8) differ += 1;
      if (ink) inked += 1;
    }
    ws.close();
    return { pixels: W * H, differ, inked };
  }, { room, ops: textOps() });
}

test('the browser and the server render text alike', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Text fidelity', width: 800, height: 600 });
  const page = await (await ctx.browser.newContext()).newPage();
  await page.goto(`${ctx.server.url}/`);
  const r = await compare(page, room);
  const share = (100 * r.differ) / r.pixels;
  const shareOfInk = (100 * r.differ) / Math.max(1, r.inked);
  console.log(
    `text fidelity: ${r.differ} of ${r.pixels} pixels differ by more than 8/255 ` +
      `(${share.toFixed(3)}% of the canvas, ${shareOfInk.toFixed(2)}% of the ${r.inked} inked pixels)`,
  );
  assert.ok(r.inked > 20000, 'the text drew something');
  assert.ok(share < 1, `browser and server differ on ${share.toFixed(3)}% of pixels`);
});
