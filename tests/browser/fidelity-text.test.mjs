// Text fidelity: the page fills the bundled font's outlines (render/text.js, font.js), the server
// fills the same outlines (src/canvas/text.rs); the share of pixels differing by more than 8/255
// in any channel must stay under 1% of the canvas, like the other ops (fidelity.test.mjs). Text is
// mostly edges, and edges are where Chrome's analytic coverage and tiny-skia's supersampling
// differ (by at most about 45/255), so the share of inked pixels is higher than for strokes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compare } from './fidelity-compare.mjs';
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

test('the browser and the server render text alike', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Text fidelity', width: 800, height: 600 });
  const page = await (await ctx.browser.newContext()).newPage();
  await page.goto(`${ctx.server.url}/`);
  const ops = textOps().map((op) => ({ item: { kind: 'text', ...op }, msgs: [op] }));
  const r = await compare(page, room, ops, { font: true });
  const share = (100 * r.differ) / r.pixels;
  const shareOfInk = (100 * r.differ) / Math.max(1, r.inked);
  console.log(
    `text fidelity: ${r.differ} of ${r.pixels} pixels differ by more than 8/255 ` +
      `(${share.toFixed(3)}% of the canvas, ${shareOfInk.toFixed(2)}% of the ${r.inked} inked pixels)`,
  );
  assert.ok(r.inked > 20000, 'the text drew something');
  assert.ok(share < 1, `browser and server differ on ${share.toFixed(3)}% of pixels`);
});
