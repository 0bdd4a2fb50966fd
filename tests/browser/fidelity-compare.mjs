// The comparison behind the fidelity tests: the page draws ops with the front end's renderer,
// the server renders the same ops; both are flattened over white, as people see them, and the
// pixels differing by more than 8/255 in any channel are counted.

/**
 * @typedef {{item: object, msgs: object[]}} FidelityOp what the page draws, and the messages that
 *   make the server commit the same op (one commit each)
 */

/**
 * Renders `ops` in the page and on the server (an 800x600 room); returns the pixel count, how
 * many differ and how many are inked in either.
 * @param {import('playwright-core').Page} page
 * @param {{id: string, edit_key: string}} room
 * @param {FidelityOp[]} ops
 * @param {{font?: boolean}} [options] `font`: load the text font first
 * @returns {Promise<{pixels: number, differ: number, inked: number}>}
 */
export async function compare(page, room, ops, { font = false } = {}) {
  return page.evaluate(async ({ room, ops, font }) => {
    const { drawItem } = await import('/static/js/render/stroke.js');
    if (font) {
      const { loadTextFont } = await import('/static/js/render/text.js');
      if (!(await loadTextFont())) throw new Error('the text font did not load');
    }
    const W = 800;
    const H = 600;
    const local = new OffscreenCanvas(W, H);
    const lctx = /** @type {any} */ (local.getContext('2d'));
    for (const op of ops) drawItem(lctx, op.item);

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
    for (const op of ops) for (const m of op.msgs) ws.send(JSON.stringify(m));
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
  }, { room, ops, font });
}
