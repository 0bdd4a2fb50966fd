// The Select tool (V): drag a rectangle, or draw a lasso (Shift+V or the mode buttons switch),
// then drag the selection to move it or its corner handle to scale it; Delete or Backspace
// erases it, Esc lets go. The selection is outlined with marching ants in an SVG layer inside
// the board element, so it follows pan and zoom. While it is dragged, its pixels (copied from the
// board) float under the pointer over a hole of the board's background. Each drag that ends is
// sent as one `move`; the server commits it and sends the changed tiles, and the selection stays
// on the moved pixels.

import * as proto from '../net/protocol.js';
import { dialogOpen } from './dialogs.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Handle half-size and hit slop, in CSS pixels. */
const HANDLE_PX = 6;
/** Lasso points closer than this (canvas px) to the previous one are skipped. */
const LASSO_STEP = 2;
/** Most lasso corners sent (the server's default limit is 2,000). */
const MAX_LASSO = 1000;
/** A selection smaller than this (canvas px) on a side is a click: it lets go. */
const MIN_SIDE = 2;

/**
 * A selection: a rectangle or lasso polygon, in canvas pixels.
 * @typedef {{kind: 'rect', x: number, y: number, w: number, h: number} |
 *   {kind: 'lasso', points: number[]}} Selection
 */

/**
 * @typedef {{
 *   board: import('../render/board.js').Board,
 *   send: (msg: object) => boolean,
 *   tool: () => string,
 *   canDraw: () => boolean,
 *   nextId: () => number,
 *   onRefused: () => void,
 * }} SelectOptions
 */

/** The box a selection covers, as the server rounds it: left, top, width, height. @param {Selection} s */
export function selectionBox(s) {
  if (s.kind === 'rect') {
    const l = Math.round(s.x), t = Math.round(s.y);
    return { x: l, y: t, w: Math.round(s.x + s.w) - l, h: Math.round(s.y + s.h) - t };
  }
  const xs = s.points.filter((_, i) => i % 2 === 0);
  const ys = s.points.filter((_, i) => i % 2 === 1);
  const l = Math.floor(Math.min(...xs)), t = Math.floor(Math.min(...ys));
  return { x: l, y: t, w: Math.ceil(Math.max(...xs)) - l, h: Math.ceil(Math.max(...ys)) - t };
}

/**
 * The selection after a move by (dx, dy) scaled by `scale` about its box's top-left.
 * @param {Selection} s @param {number} dx @param {number} dy @param {number} scale
 * @returns {Selection}
 */
export function movedSelection(s, dx, dy, scale) {
  const b = selectionBox(s);
  if (s.kind === 'rect') return { kind: 'rect', x: b.x + dx, y: b.y + dy, w: b.w * scale, h: b.h * scale };
  const points = s.points.map((v, i) => {
    const o = i % 2 === 0 ? b.x : b.y;
    return round(o + (i % 2 === 0 ? dx : dy) + (v - o) * scale);
  });
  return { kind: 'lasso', points };
}

export class Select {
  /** @type {SelectOptions} */ #o;
  /** 'rect' or 'lasso'. */
  mode = 'rect';
  /** The current selection. @type {Selection | null} */
  selection = null;
  /**
   * The drag under way: drawing a new selection, moving, or scaling.
   * @type {{pointer: number, kind: 'new' | 'move' | 'scale', x: number, y: number, dx: number, dy: number,
   *   scale: number} | null}
   */
  #drag = null;
  /** @type {SVGSVGElement | null} */ #svg = null;
  /** The pixels being dragged, drawn over the board. @type {HTMLCanvasElement | null} */ #float = null;
  /** The selection's pixels copied when a drag began. @type {HTMLCanvasElement | null} */ #lifted = null;
  /** @type {HTMLElement | null} */ #modes;

  /** @param {SelectOptions} options @param {HTMLElement | null} modes the mode buttons */
  constructor(options, modes) {
    this.#o = options;
    this.#modes = modes;
    for (const b of modes?.querySelectorAll('[data-select-mode]') ?? []) {
      b.addEventListener('click', () => this.setMode(/** @type {HTMLElement} */ (b).dataset.selectMode ?? 'rect'));
    }
    const el = options.board.element;
    el.addEventListener('pointerdown', (e) => this.#down(e));
    el.addEventListener('pointermove', (e) => this.#move(e));
    el.addEventListener('pointerup', (e) => this.#up(e));
    el.addEventListener('pointercancel', (e) => this.#up(e));
    window.addEventListener('keydown', (e) => this.#key(e));
    this.#showModes();
  }

  /** @param {string} mode 'rect' or 'lasso' */
  setMode(mode) {
    this.mode = mode === 'lasso' ? 'lasso' : 'rect';
    this.#showModes();
  }

  /** The tool changed (or the page was reset): a selection only lives in the Select tool. */
  toolChanged() {
    if (this.#o.tool() !== 'select') this.clear();
    this.#showModes();
  }

  /** Lets go of the selection. */
  clear() {
    this.selection = null;
    this.#drag = null;
    this.#lifted = null;
    this.#draw();
  }

  #showModes() {
    if (!this.#modes) return;
    this.#modes.hidden = this.#o.tool() !== 'select';
    for (const b of this.#modes.querySelectorAll('[data-select-mode]')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.selectMode === this.mode));
    }
  }

  /** @param {PointerEvent} e */
  #at(e) {
    const [x, y] = this.#o.board.toCanvas(e.clientX, e.clientY);
    return [round(x), round(y)];
  }

  /** Which part of the selection (x, y) is on: its scale handle, inside it, or neither. */
  #hit(/** @type {number} */ x, /** @type {number} */ y) {
    const s = this.selection;
    if (!s) return null;
    const b = selectionBox(s);
    const slop = HANDLE_PX / this.#o.board.scale;
    if (Math.abs(x - (b.x + b.w)) <= slop * 1.5 && Math.abs(y - (b.y + b.h)) <= slop * 1.5) return 'scale';
    if (x >= b.x && y >= b.y && x <= b.x + b.w && y <= b.y + b.h) return 'move';
    return null;
  }

  /** @param {PointerEvent} e */
  #down(e) {
    if (this.#o.tool() !== 'select' || e.button !== 0 || this.#drag || this.#o.board.panning) return;
    if (!this.#o.canDraw()) {
      this.#o.onRefused();
      return;
    }
    e.preventDefault();
    const [x, y] = this.#at(e);
    const part = this.#hit(x, y);
    this.#o.board.element.setPointerCapture(e.pointerId);
    if (part) {
      this.#drag = { pointer: e.pointerId, kind: part, x, y, dx: 0, dy: 0, scale: 1 };
      this.#lift();
    } else {
      this.selection = this.mode === 'lasso' ? { kind: 'lasso', points: [x, y] } : { kind: 'rect', x, y, w: 0, h: 0 };
      this.#drag = { pointer: e.pointerId, kind: 'new', x, y, dx: 0, dy: 0, scale: 1 };
    }
    this.#draw();
  }

  /** @param {PointerEvent} e */
  #move(e) {
    const d = this.#drag;
    const s = this.selection;
    if (!d || !s || e.pointerId !== d.pointer) return;
    const [x, y] = this.#at(e);
    if (d.kind === 'new') {
      if (s.kind === 'rect') {
        this.selection = { kind: 'rect', x: Math.min(d.x, x), y: Math.min(d.y, y), w: Math.abs(x - d.x), h: Math.abs(y - d.y) };
      } else {
        const p = s.points;
        const far = Math.hypot(x - p[p.length - 2], y - p[p.length - 1]) >= LASSO_STEP;
        if (far && p.length / 2 < MAX_LASSO) p.push(x, y);
      }
    } else if (d.kind === 'move') {
      d.dx = Math.round(x - d.x);
      d.dy = Math.round(y - d.y);
    } else {
      const b = selectionBox(s);
      const sx = (x - b.x) / Math.max(1, b.w);
      const sy = (y - b.y) / Math.max(1, b.h);
      d.scale = Math.round(Math.min(10, Math.max(0.1, Math.max(sx, sy))) * 100) / 100;
    }
    this.#draw();
  }

  /** @param {PointerEvent} e */
  #up(e) {
    const d = this.#drag;
    const s = this.selection;
    if (!d || e.pointerId !== d.pointer) return;
    this.#drag = null;
    this.#lifted = null;
    if (!s) return;
    if (d.kind === 'new') {
      const b = selectionBox(s);
      const tooSmall = b.w < MIN_SIDE || b.h < MIN_SIDE || (s.kind === 'lasso' && s.points.length < 6);
      if (tooSmall || e.type !== 'pointerup') this.selection = null;
    } else if (e.type === 'pointerup' && (d.dx !== 0 || d.dy !== 0 || d.scale !== 1)) {
      if (this.#send(s, d.dx, d.dy, d.scale, false)) this.selection = movedSelection(s, d.dx, d.dy, d.scale);
    }
    this.#draw();
  }

  /**
   * Sends a move (or delete) of `s`; false when it could not be sent.
   * @param {Selection} s @param {number} dx @param {number} dy @param {number} scale @param {boolean} del
   */
  #send(s, dx, dy, scale, del) {
    const sel = s.kind === 'rect' ? { rect: [s.x, s.y, s.w, s.h] } : { lasso: s.points };
    return this.#o.send(proto.move(this.#o.nextId(), sel, dx, dy, scale, del));
  }

  /** @param {KeyboardEvent} e */
  #key(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (dialogOpen() || target.matches?.('input, textarea, select')) return;
    if (e.key === 'V' && e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
      // The toolbar switched to the Select tool; Shift switches the mode too.
      queueMicrotask(() => {
        this.setMode(this.mode === 'rect' ? 'lasso' : 'rect');
        this.toolChanged();
      });
      return;
    }
    if (this.#o.tool() !== 'select' || !this.selection || this.#drag) return;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      if (!this.#o.canDraw()) {
        this.#o.onRefused();
        return;
      }
      if (this.#send(this.selection, 0, 0, 1, true)) this.clear();
    } else if (e.key === 'Escape') {
      this.clear();
    }
  }

  /** Copies the selection's pixels from the board, for showing them while they are dragged. */
  #lift() {
    const s = this.selection;
    if (!s) return;
    const b = selectionBox(s);
    const c = document.createElement('canvas');
    c.width = Math.max(1, b.w);
    c.height = Math.max(1, b.h);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.translate(-b.x, -b.y);
    ctx.clip(outlinePath(s));
    ctx.drawImage(this.#o.board.base, 0, 0);
    this.#lifted = c;
  }

  /** Shows the dragged pixels at their new place, over a hole where they were. */
  #drawFloat() {
    const board = this.#o.board;
    if (!this.#float) {
      this.#float = document.createElement('canvas');
      this.#float.className = 'selection-float';
    }
    const f = this.#float;
    if (f.parentElement !== board.element) board.element.append(f);
    if (f.width !== board.width || f.height !== board.height) {
      f.width = board.width;
      f.height = board.height;
    }
    const ctx = f.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, f.width, f.height);
    const s = this.selection;
    const d = this.#drag;
    const lifted = this.#lifted;
    if (!s || !d || d.kind === 'new' || !lifted) return;
    ctx.fillStyle = getComputedStyle(board.element).backgroundColor;
    ctx.fill(outlinePath(s));
    const b = selectionBox(s);
    ctx.drawImage(lifted, b.x + d.dx, b.y + d.dy, b.w * d.scale, b.h * d.scale);
  }

  /** Draws the selection (moved and scaled while dragged) with marching ants and its handle. */
  #draw() {
    this.#drawFloat();
    const board = this.#o.board;
    if (!this.#svg) {
      this.#svg = /** @type {SVGSVGElement} */ (document.createElementNS(SVG, 'svg'));
      this.#svg.classList.add('selection-layer');
      this.#svg.setAttribute('aria-hidden', 'true');
    }
    const svg = this.#svg;
    if (svg.parentElement !== board.element) board.element.append(svg);
    svg.setAttribute('viewBox', `0 0 ${board.width} ${board.height}`);
    svg.setAttribute('width', String(board.width));
    svg.setAttribute('height', String(board.height));
    svg.replaceChildren();
    const s0 = this.selection;
    if (!s0) return;
    const d = this.#drag;
    const s = d && d.kind !== 'new' ? movedSelection(s0, d.dx, d.dy, d.scale) : s0;
    const px = 1 / board.scale;
    const outline = s.kind === 'rect'
      ? `M${s.x} ${s.y}h${s.w}v${s.h}h${-s.w}Z`
      : `M${s.points.join(' ')}${d?.kind === 'new' ? '' : 'Z'}`;
    for (const cls of ['ants-under', 'ants']) {
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', outline);
      path.setAttribute('class', cls);
      path.style.strokeWidth = `${px}`;
      path.style.strokeDasharray = `${4 * px} ${4 * px}`;
      svg.append(path);
    }
    if (d?.kind === 'new') return;
    const b = selectionBox(s);
    const handle = document.createElementNS(SVG, 'rect');
    const h = HANDLE_PX * px;
    handle.setAttribute('class', 'selection-handle');
    handle.setAttribute('x', String(b.x + b.w - h));
    handle.setAttribute('y', String(b.y + b.h - h));
    handle.setAttribute('width', String(2 * h));
    handle.setAttribute('height', String(2 * h));
    handle.style.strokeWidth = `${px}`;
    svg.append(handle);
  }
}

/** The selection's outline as a path. @param {Selection} s */
function outlinePath(s) {
  const p = new Path2D();
  if (s.kind === 'rect') {
    p.rect(s.x, s.y, s.w, s.h);
    return p;
  }
  p.moveTo(s.points[0], s.points[1]);
  for (let i = 2; i + 1 < s.points.length; i += 2) p.lineTo(s.points[i], s.points[i + 1]);
  p.closePath();
  return p;
}

/** @param {number} v */
function round(v) {
  return Math.round(v * 100) / 100;
}
