// Text in the bundled font, laid out and filled exactly as the server does (src/canvas/text.rs),
// so what a person types is what lands: the same font file (served from the binary at /fonts/),
// read by font.js; each line starting at x, the first baseline one ascender below y, one line
// height (ascender - descender + line gap) between lines, each character advanced by its glyph's
// advance width with no kerning or ligatures, a character the font lacks drawn as its fallback
// glyph, and each glyph's outline filled on its own with the non-zero rule.

import { Font } from './font.js';

/** The CSS font family the page registers for the bundled font (for the text editor's caret). */
export const FONT_FAMILY = 'InkroomText';
/** Where the server serves the font file. */
export const FONT_URL = '/fonts/DejaVuSans.ttf';

/** @type {Font | null} */
let font = null;
/** @type {Promise<boolean> | null} */
let loading = null;

/**
 * Loads the bundled font once (for drawing, and as a CSS font for editing); resolves to whether
 * it loaded.
 * @returns {Promise<boolean>}
 */
export function loadTextFont() {
  loading ??= fetch(FONT_URL)
    .then((res) => {
      if (!res.ok) throw new Error(`font: HTTP ${res.status}`);
      return res.arrayBuffer();
    })
    .then(async (data) => {
      font = new Font(data);
      const face = new FontFace(FONT_FAMILY, data);
      document.fonts.add(await face.load());
      return true;
    })
    .catch(() => {
      loading = null;
      return false;
    });
  return loading;
}

/** The loaded font, or null before loadTextFont resolves. */
export function textFont() {
  return font;
}

/**
 * @typedef {{kind: 'text', x: number, y: number, text: string, size: number, color: string}} TextItem
 */

/**
 * Each character's glyph and pen position (on its line's baseline), in canvas pixels.
 * @param {Font} f
 * @param {TextItem} t
 * @returns {Array<{glyph: number, x: number, y: number}>}
 */
export function layoutText(f, t) {
  const scale = t.size / f.unitsPerEm;
  const lineHeight = f.ascender - f.descender + f.lineGap;
  /** @type {Array<{glyph: number, x: number, y: number}>} */
  const out = [];
  t.text.split('\n').forEach((line, i) => {
    // The same f32 arithmetic as the server, so positions agree to the last bit that matters.
    const y = Math.fround(t.y + Math.fround(Math.fround(f.ascender + Math.fround(i * lineHeight)) * Math.fround(scale)));
    let x = Math.fround(t.x);
    for (const ch of line) {
      const glyph = f.glyphIndex(/** @type {number} */ (ch.codePointAt(0)));
      out.push({ glyph, x, y });
      x = Math.fround(x + Math.fround(f.advance(glyph) * Math.fround(scale)));
    }
  });
  return out;
}

/**
 * Draws a text item (nothing until the font has loaded).
 * @param {CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D} ctx
 * @param {TextItem} t
 */
export function drawText(ctx, t) {
  const f = font;
  if (!f) return;
  const scale = t.size / f.unitsPerEm;
  ctx.fillStyle = t.color;
  for (const g of layoutText(f, t)) {
    const path = f.path(g.glyph);
    if (!path) continue;
    ctx.save();
    ctx.translate(g.x, g.y);
    ctx.scale(scale, -scale);
    ctx.fill(path, 'nonzero');
    ctx.restore();
  }
}

/**
 * The text's box from its top-left corner: its widest line and its lines' height, in canvas px.
 * @param {TextItem} t
 */
export function textBox(t) {
  const f = font;
  if (!f) return { width: 0, height: 0, lineHeight: t.size };
  const scale = t.size / f.unitsPerEm;
  let width = 0;
  for (const line of t.text.split('\n')) {
    let w = 0;
    for (const ch of line) w += f.advance(f.glyphIndex(/** @type {number} */ (ch.codePointAt(0)))) * scale;
    width = Math.max(width, w);
  }
  const lineHeight = (f.ascender - f.descender + f.lineGap) * scale;
  return { width, height: t.text.split('\n').length * lineHeight, lineHeight };
}
