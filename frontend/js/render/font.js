// A TrueType font read in the page: the bundled font file's metrics, character map, advances and
// glyph outlines (quadratic contours, simple and composite glyphs) as Path2D in font units. The
// page fills these outlines itself instead of asking the browser to draw text, so glyphs are not
// hinted or snapped and cover the same pixels as the server's (src/canvas/text.rs fills the same
// outlines, read by ttf-parser).

/** Composite glyph flags. */
const ARG_1_AND_2_ARE_WORDS = 0x0001;
const ARGS_ARE_XY_VALUES = 0x0002;
const WE_HAVE_A_SCALE = 0x0008;
const MORE_COMPONENTS = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE = 0x0040;
const WE_HAVE_A_TWO_BY_TWO = 0x0080;
/** Composite glyphs nest at most this deep (a guard against a broken file). */
const MAX_DEPTH = 8;

export class Font {
  /** @type {DataView} */ #v;
  /** @type {Map<string, number>} */ #tables = new Map();
  unitsPerEm = 0;
  ascender = 0;
  descender = 0;
  lineGap = 0;
  #longLoca = false;
  #numHMetrics = 0;
  #numGlyphs = 0;
  /** Character-map segments: [start, end, glyph for start] (format 12), or format 4 read on demand. */
  /** @type {Array<[number, number, number]>} */ #groups = [];
  /** @type {Map<number, Path2D | null>} */ #paths = new Map();

  /** @param {ArrayBuffer} data */
  constructor(data) {
    const v = new DataView(data);
    this.#v = v;
    const count = v.getUint16(4);
    for (let i = 0; i < count; i++) {
      const rec = 12 + 16 * i;
      const tag = String.fromCharCode(v.getUint8(rec), v.getUint8(rec + 1), v.getUint8(rec + 2), v.getUint8(rec + 3));
      this.#tables.set(tag, v.getUint32(rec + 8));
    }
    const head = this.#table('head');
    this.unitsPerEm = v.getUint16(head + 18);
    this.#longLoca = v.getInt16(head + 50) === 1;
    const hhea = this.#table('hhea');
    this.ascender = v.getInt16(hhea + 4);
    this.descender = v.getInt16(hhea + 6);
    this.lineGap = v.getInt16(hhea + 8);
    this.#numHMetrics = v.getUint16(hhea + 34);
    this.#numGlyphs = v.getUint16(this.#table('maxp') + 4);
    this.#readCmap();
  }

  /** @param {string} tag */
  #table(tag) {
    const at = this.#tables.get(tag);
    if (at === undefined) throw new Error(`font has no ${tag} table`);
    return at;
  }

  /** Reads the Unicode character map (format 12 preferred, else format 4) into groups. */
  #readCmap() {
    const v = this.#v;
    const cmap = this.#table('cmap');
    const n = v.getUint16(cmap + 2);
    let best = -1;
    let bestFormat = 0;
    for (let i = 0; i < n; i++) {
      const platform = v.getUint16(cmap + 4 + 8 * i);
      const encoding = v.getUint16(cmap + 6 + 8 * i);
      const sub = cmap + v.getUint32(cmap + 8 + 8 * i);
      const format = v.getUint16(sub);
      const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
      if (unicode && (format === 12 || (format === 4 && bestFormat !== 12))) {
        best = sub;
        bestFormat = format;
      }
    }
    if (best < 0) return;
    if (bestFormat === 12) {
      const groups = v.getUint32(best + 12);
      for (let i = 0; i < groups; i++) {
        const g = best + 16 + 12 * i;
        this.#groups.push([v.getUint32(g), v.getUint32(g + 4), v.getUint32(g + 8)]);
      }
      return;
    }
    const segs = v.getUint16(best + 6) / 2;
    const ends = best + 14;
    const starts = ends + 2 * segs + 2;
    const deltas = starts + 2 * segs;
    const offsets = deltas + 2 * segs;
    for (let i = 0; i < segs; i++) {
      const end = v.getUint16(ends + 2 * i);
      const start = v.getUint16(starts + 2 * i);
      const delta = v.getInt16(deltas + 2 * i);
      const offsetAt = offsets + 2 * i;
      const offset = v.getUint16(offsetAt);
      for (let c = start; c <= end && c !== 0xffff; c++) {
        let glyph;
        if (offset === 0) glyph = (c + delta) & 0xffff;
        else {
          const at = offsetAt + offset + 2 * (c - start);
          glyph = v.getUint16(at);
          if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
        }
        if (glyph !== 0) this.#groups.push([c, c, glyph]);
      }
    }
    this.#groups.sort((a, b) => a[0] - b[0]);
  }

  /** The glyph for a character, 0 (the fallback glyph) when the font lacks it. @param {number} code */
  glyphIndex(code) {
    const g = this.#groups;
    let lo = 0;
    let hi = g.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (code < g[mid][0]) hi = mid - 1;
      else if (code > g[mid][1]) lo = mid + 1;
      else return g[mid][2] + (code - g[mid][0]);
    }
    return 0;
  }

  /** A glyph's advance width in font units. @param {number} glyph */
  advance(glyph) {
    const i = Math.min(glyph, this.#numHMetrics - 1);
    return this.#v.getUint16(this.#table('hmtx') + 4 * i);
  }

  /** A glyph's outline in font units (y up), or null when it has none. @param {number} glyph */
  path(glyph) {
    let p = this.#paths.get(glyph);
    if (p === undefined) {
      const path = new Path2D();
      const drawn = this.#outline(glyph, path, [1, 0, 0, 1, 0, 0], 0);
      p = drawn ? path : null;
      this.#paths.set(glyph, p);
    }
    return p;
  }

  /** The byte range of a glyph in `glyf`, or null when empty. @param {number} glyph */
  #range(glyph) {
    if (glyph >= this.#numGlyphs) return null;
    const v = this.#v;
    const loca = this.#table('loca');
    const [a, b] = this.#longLoca
      ? [v.getUint32(loca + 4 * glyph), v.getUint32(loca + 4 * glyph + 4)]
      : [2 * v.getUint16(loca + 2 * glyph), 2 * v.getUint16(loca + 2 * glyph + 2)];
    return b > a ? this.#table('glyf') + a : null;
  }

  /**
   * Adds a glyph's contours to `path`, transformed by the affine `m` [a, b, c, d, e, f].
   * @param {number} glyph @param {Path2D} path @param {number[]} m @param {number} depth
   * @returns {boolean} whether anything was added
   */
  #outline(glyph, path, m, depth) {
    const at = this.#range(glyph);
    if (at === null || depth > MAX_DEPTH) return false;
    const v = this.#v;
    const contours = v.getInt16(at);
    if (contours >= 0) return this.#simple(at, contours, path, m);
    let p = at + 10;
    let drawn = false;
    for (;;) {
      const flags = v.getUint16(p);
      const child = v.getUint16(p + 2);
      p += 4;
      let dx = 0;
      let dy = 0;
      if (flags & ARG_1_AND_2_ARE_WORDS) {
        if (flags & ARGS_ARE_XY_VALUES) [dx, dy] = [v.getInt16(p), v.getInt16(p + 2)];
        p += 4;
      } else {
        if (flags & ARGS_ARE_XY_VALUES) [dx, dy] = [v.getInt8(p), v.getInt8(p + 1)];
        p += 2;
      }
      let [a, b, c, d] = [1, 0, 0, 1];
      const f2 = (/** @type {number} */ o) => v.getInt16(o) / 16384;
      if (flags & WE_HAVE_A_SCALE) {
        a = d = f2(p);
        p += 2;
      } else if (flags & WE_HAVE_AN_X_AND_Y_SCALE) {
        [a, d] = [f2(p), f2(p + 2)];
        p += 4;
      } else if (flags & WE_HAVE_A_TWO_BY_TWO) {
        [a, b, c, d] = [f2(p), f2(p + 2), f2(p + 4), f2(p + 6)];
        p += 8;
      }
      // The child's transform, then the parent's.
      const t = [
        m[0] * a + m[2] * b, m[1] * a + m[3] * b,
        m[0] * c + m[2] * d, m[1] * c + m[3] * d,
        m[0] * dx + m[2] * dy + m[4], m[1] * dx + m[3] * dy + m[5],
      ];
      drawn = this.#outline(child, path, t, depth + 1) || drawn;
      if (!(flags & MORE_COMPONENTS)) return drawn;
    }
  }

  /**
   * A simple glyph's quadratic contours into `path`.
   * @param {number} at @param {number} contours @param {Path2D} path @param {number[]} m
   */
  #simple(at, contours, path, m) {
    const v = this.#v;
    const ends = [];
    for (let i = 0; i < contours; i++) ends.push(v.getUint16(at + 10 + 2 * i));
    const count = contours ? ends[contours - 1] + 1 : 0;
    let p = at + 10 + 2 * contours;
    p += 2 + v.getUint16(p);
    const flags = new Uint8Array(count);
    for (let i = 0; i < count; ) {
      const f = v.getUint8(p++);
      flags[i++] = f;
      if (f & 8) {
        let repeat = v.getUint8(p++);
        while (repeat-- > 0 && i < count) flags[i++] = f;
      }
    }
    const xs = new Float64Array(count);
    const ys = new Float64Array(count);
    for (const [arr, short, same] of /** @type {const} */ ([[xs, 2, 16], [ys, 4, 32]])) {
      let val = 0;
      for (let i = 0; i < count; i++) {
        const f = flags[i];
        if (f & short) {
          const d = v.getUint8(p++);
          val += f & same ? d : -d;
        } else if (!(f & same)) {
          val += v.getInt16(p);
          p += 2;
        }
        arr[i] = val;
      }
    }
    const X = (/** @type {number} */ i) => m[0] * xs[i] + m[2] * ys[i] + m[4];
    const Y = (/** @type {number} */ i) => m[1] * xs[i] + m[3] * ys[i] + m[5];
    let start = 0;
    for (const end of ends) {
      const n = end - start + 1;
      if (n < 2) {
        start = end + 1;
        continue;
      }
      const on = (/** @type {number} */ k) => (flags[start + (k % n)] & 1) === 1;
      const px = (/** @type {number} */ k) => X(start + (k % n));
      const py = (/** @type {number} */ k) => Y(start + (k % n));
      // Start on an on-curve point, or between two off-curve points.
      let first = 0;
      while (first < n && !on(first)) first++;
      let sx;
      let sy;
      if (first === n) {
        // All off-curve: start between the first two, and go round from the second.
        sx = (px(0) + px(1)) / 2;
        sy = (py(0) + py(1)) / 2;
        first = 1;
      } else {
        sx = px(first);
        sy = py(first);
        first += 1;
      }
      path.moveTo(sx, sy);
      /** @type {[number, number] | null} */
      let ctrl = null;
      for (let k = first; k < first + n; k++) {
        const [x, y] = [px(k), py(k)];
        const isLast = k === first + n - 1;
        if (on(k)) {
          if (ctrl) path.quadraticCurveTo(ctrl[0], ctrl[1], x, y);
          else path.lineTo(x, y);
          ctrl = null;
        } else {
          if (ctrl) path.quadraticCurveTo(ctrl[0], ctrl[1], (ctrl[0] + x) / 2, (ctrl[1] + y) / 2);
          ctrl = [x, y];
        }
        if (isLast && ctrl) path.quadraticCurveTo(ctrl[0], ctrl[1], sx, sy);
      }
      path.closePath();
      start = end + 1;
    }
    return count > 0;
  }
}
