// Rendering fidelity: the browser draws a fixed set of ops locally with the front end's renderer,
// the server renders the same ops; the share of pixels differing by more than 8/255 in any
// channel is printed (docs/benchmarks.md records it) and must stay small.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, useServerAndBrowser } from './harness.mjs';
import { compare } from './fidelity-compare.mjs';
import { fidelityOps } from './fidelity-strokes.mjs';

const ctx = useServerAndBrowser(before, after);

test('the browser and the server render the same ops alike', async () => {
  const room = await createRoom(ctx.server.url, { name: 'Fidelity', width: 800, height: 600 });
  const page = await (await ctx.browser.newContext()).newPage();
  await page.goto(`${ctx.server.url}/`);
  const ops = fidelityOps().map((op) => ({
    item: op.item,
    msgs: op.msg.type === 'stroke_begin' ? [op.msg, { type: 'stroke_end', stroke: op.msg.stroke }] : [op.msg],
  }));
  const r = await compare(page, room, ops);
  const share = (100 * r.differ) / r.pixels;
  const shareOfInk = (100 * r.differ) / Math.max(1, r.inked);
  console.log(
    `fidelity: ${r.differ} of ${r.pixels} pixels differ by more than 8/255 ` +
      `(${share.toFixed(3)}% of the canvas, ${shareOfInk.toFixed(2)}% of the ${r.inked} inked pixels)`,
  );
  assert.ok(r.inked > 20000, 'the ops drew something');
  assert.ok(share < 1, `browser and server differ on ${share.toFixed(3)}% of pixels`);
});
