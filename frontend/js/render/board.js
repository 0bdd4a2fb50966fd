// The board on screen: a base canvas holding the committed picture (authoritative tiles plus
// the ops committed after them, in seq order), a live canvas for strokes and shapes being drawn
// right now, and a layer of other members' cursors. The board element has the canvas's size in
// CSS pixels and is placed in its stage by a transform: `scale` is CSS pixels per canvas pixel
// (1 = 100%, one canvas pixel per CSS pixel), and the translation is the board's top-left in
// the stage. Input that moves the view lives in ui/pan.js and ui/gestures.js.

import { drawItem } from './stroke.js';

/** @typedef {import('./stroke.js').Item} Item */
/** @typedef {{item: Item, undone: boolean}} Logged */

/** Committed ops kept for replay over older tiles. */
const MAX_LOG = 5000;
/** Room around the fitted board, in CSS pixels (none when fitting to the width). */
const FIT_PAD = 24;
/** The most a view may magnify: 8 CSS pixels per canvas pixel (800%), or 4 times the fit. */
const MAX_SCALE = 8;

export class Board {
  /** @type {HTMLElement} */ #stage;
  /** @type {HTMLElement} */ element;
  /** @type {HTMLCanvasElement} */ base;
  /** @type {HTMLCanvasElement} */ #live;
  /** @type {HTMLElement} */ #cursorLayer;
  /** @type {CanvasRenderingContext2D} */ #baseCtx;
  /** @type {CanvasRenderingContext2D} */ #liveCtx;
  /** Items being drawn, by "author:id". @type {Map<string, Item & {ended?: boolean}>} */
  #live_items = new Map();
  /** Ops committed locally, by seq, for replay over tiles older than them. @type {Map<number, Logged>} */
  #log = new Map();
  /** @type {Map<number, HTMLElement>} */ #cursors = new Map();
  #dirty = false;
  width = 0;
  height = 0;
  /** View: CSS pixels per canvas pixel, and the board's top-left in the stage (CSS px). */
  #scale = 1;
  #x = 0;
  #y = 0;
  /** The view is the fitted one, and fits again when the stage changes size. */
  #fitted = true;
  /**
   * How the board fits: `contain` shows all of it with some room around (desktop); `width`
   * fills the stage's width edge to edge, top first, the rest reached by panning (phones).
   * @type {() => 'contain' | 'width'}
   */
  fitMode = () => 'contain';
  /** Whether a plain drag (mouse or one finger) pans, as on view-only pages. */
  dragPans = false;
  /** True while the view is being dragged (the pen must not draw). */
  panning = false;
  /**
   * Called when the view changes; `byUser` is false when the program moved it (fit to a resized
   * window, follow mode).
   * @type {(scale: number, byUser: boolean) => void}
   */
  onView = () => {};

  /** @param {HTMLElement} stage the element the board fits into */
  constructor(stage) {
    this.#stage = stage;
    this.element = document.createElement('div');
    this.element.className = 'board';
    this.base = document.createElement('canvas');
    this.base.className = 'board-base';
    this.#live = document.createElement('canvas');
    this.#live.className = 'board-live';
    this.#cursorLayer = document.createElement('div');
    this.#cursorLayer.className = 'board-cursors';
    this.element.append(this.base, this.#live, this.#cursorLayer);
    stage.append(this.element);
    const base = this.base.getContext('2d');
    const live = this.#live.getContext('2d');
    if (!base || !live) throw new Error('2D canvas is not available');
    this.#baseCtx = base;
    this.#liveCtx = live;
    new ResizeObserver(() => this.fit()).observe(stage);
  }

  /** CSS pixels per canvas pixel: 1 is 100%, whatever the screen or the board's size. */
  get scale() {
    return this.#scale;
  }

  /** Whether the view is the fitted one. */
  get fitted() {
    return this.#fitted;
  }

  /** The scale that fits the board into the stage (see `fitMode`). */
  fitScale() {
    if (!this.width) return 1;
    const w = this.#stage.clientWidth;
    const h = this.#stage.clientHeight;
    if (this.fitMode() === 'width') return Math.max(0.01, w / this.width);
    return Math.max(0.01, Math.min((w - FIT_PAD * 2) / this.width, (h - FIT_PAD * 2) / this.height));
  }

  /** @param {number} scale */
  #clamp(scale) {
    const fit = this.fitScale();
    return Math.min(Math.max(MAX_SCALE, fit * 4), Math.max(Math.min(fit, 1) / 4, scale));
  }

  /**
   * Zooms by `factor` keeping the point under (clientX, clientY) in place.
   * @param {number} factor
   * @param {number} clientX
   * @param {number} clientY
   */
  zoomAt(factor, clientX, clientY) {
    this.#zoomTo(this.#scale * factor, clientX, clientY);
    this.#applyView(true);
  }

  /**
   * Sets the scale (1 = 100%) keeping the middle of the stage in place.
   * @param {number} scale
   */
  zoomTo(scale) {
    const s = this.#stage.getBoundingClientRect();
    this.#zoomTo(scale, s.left + s.width / 2, s.top + s.height / 2);
    this.#applyView(true);
  }

  /** @param {number} scale @param {number} clientX @param {number} clientY */
  #zoomTo(scale, clientX, clientY) {
    const next = this.#clamp(scale);
    const s = this.#stage.getBoundingClientRect();
    const px = clientX - s.left;
    const py = clientY - s.top;
    // The canvas point under the pointer stays under it.
    this.#x = px - ((px - this.#x) * next) / this.#scale;
    this.#y = py - ((py - this.#y) * next) / this.#scale;
    this.#scale = next;
    this.#fitted = false;
  }

  /** Moves the view by (dx, dy) CSS pixels. @param {number} dx @param {number} dy */
  panBy(dx, dy) {
    this.#x += dx;
    this.#y += dy;
    this.#fitted = false;
    this.#applyView(true);
  }

  /** Back to the fitted view. */
  resetView() {
    this.#fitted = true;
    this.#fitView();
    this.#applyView(true);
  }

  /** Places the board as the fitted view shows it. */
  #fitView() {
    const scale = this.fitScale();
    const w = this.#stage.clientWidth;
    const h = this.#stage.clientHeight;
    this.#scale = scale;
    this.#x = (w - this.width * scale) / 2;
    const tall = this.height * scale > h;
    this.#y = this.fitMode() === 'width' && tall ? 0 : (h - this.height * scale) / 2;
  }

  /**
   * The rectangle of the canvas (in canvas pixels) the stage shows; it may reach outside the
   * canvas.
   * @returns {{x: number, y: number, width: number, height: number}}
   */
  visibleRect() {
    const k = this.#scale;
    return { x: -this.#x / k, y: -this.#y / k, width: this.#stage.clientWidth / k, height: this.#stage.clientHeight / k };
  }

  /**
   * Fits a canvas rectangle into the stage, centred (follow mode).
   * @param {{x: number, y: number, width: number, height: number}} r
   */
  showRect(r) {
    const w = this.#stage.clientWidth;
    const h = this.#stage.clientHeight;
    if (!this.width || !w || !(r.width > 0) || !(r.height > 0)) return;
    const k = this.#clamp(Math.min(w / r.width, h / r.height));
    this.#x = w / 2 - k * (r.x + r.width / 2);
    this.#y = h / 2 - k * (r.y + r.height / 2);
    this.#scale = k;
    this.#fitted = false;
    this.#applyView(false);
  }

  /** @param {boolean} byUser */
  #applyView(byUser) {
    this.element.style.transform = `translate(${this.#x}px, ${this.#y}px) scale(${this.#scale})`;
    // Cursors and the board's shadow keep their size at any zoom.
    this.element.style.setProperty('--view-zoom', String(this.#scale));
    this.onView(this.#scale, byUser);
  }

  /**
   * Sizes the board for a room and clears everything.
   * @param {{width: number, height: number, background: string}} room
   */
  reset(room) {
    // Another size (another board): start from the fitted view; the same board keeps its view.
    if (room.width !== this.width || room.height !== this.height) this.#fitted = true;
    this.width = room.width;
    this.height = room.height;
    for (const c of [this.base, this.#live]) {
      c.width = room.width;
      c.height = room.height;
    }
    this.element.style.width = `${room.width}px`;
    this.element.style.height = `${room.height}px`;
    this.element.style.backgroundColor = room.background;
    this.#baseCtx.clearRect(0, 0, room.width, room.height);
    this.#live_items.clear();
    this.#log.clear();
    this.#touch();
    this.fit();
  }

  /** After a resumed reconnect: keep the picture, drop what was being drawn (it is re-sent). */
  resume() {
    this.#live_items.clear();
    this.#touch();
  }

  /**
   * The stage changed size (or the room did): the fitted view fits again; any other view keeps
   * its scale and position.
   */
  fit() {
    if (!this.width) return;
    if (this.#fitted) this.#fitView();
    this.#applyView(false);
  }

  /**
   * Converts a pointer position to canvas pixels.
   * @param {number} clientX
   * @param {number} clientY
   * @returns {[number, number]}
   */
  toCanvas(clientX, clientY) {
    const rect = this.element.getBoundingClientRect();
    return [
      ((clientX - rect.left) * this.width) / rect.width,
      ((clientY - rect.top) * this.height) / rect.height,
    ];
  }

  /**
   * Replaces one tile of the base canvas with an authoritative image, then re-applies the ops
   * committed after the tile's seq.
   * @param {import('../net/protocol.js').TileFrame} tile
   */
  async putTile(tile) {
    const x = tile.col * tile.tileSize;
    const y = tile.row * tile.tileSize;
    const w = Math.min(tile.tileSize, this.width - x);
    const h = Math.min(tile.tileSize, this.height - y);
    if (tile.empty) {
      this.#baseCtx.clearRect(x, y, w, h);
    } else {
      const bitmap = await createImageBitmap(new Blob([tile.png], { type: 'image/png' }), {
        premultiplyAlpha: 'none',
        colorSpaceConversion: 'none',
      });
      this.#baseCtx.clearRect(x, y, w, h);
      this.#baseCtx.drawImage(bitmap, x, y);
      bitmap.close();
    }
    const later = [...this.#log].filter(([seq, l]) => seq > tile.seq && !l.undone);
    if (later.length) {
      later.sort((a, b) => a[0] - b[0]);
      this.#baseCtx.save();
      this.#baseCtx.beginPath();
      this.#baseCtx.rect(x, y, w, h);
      this.#baseCtx.clip();
      for (const [, l] of later) drawItem(this.#baseCtx, l.item);
      this.#baseCtx.restore();
    }
    // Tiles only move forward: ops at or before this seq are no longer needed for replay.
    for (const seq of this.#log.keys()) if (seq <= tile.seq) this.#log.delete(seq);
  }

  /**
   * Starts a live item (a stroke being drawn, or a shape being dragged).
   * @param {string} key "author:id"
   * @param {Item} item
   */
  begin(key, item) {
    this.#live_items.set(key, item.kind === 'stroke' ? { ...item, points: [...item.points] } : { ...item });
    this.#touch();
  }

  /** Replaces a live shape while it is dragged. @param {string} key @param {Item} item */
  update(key, item) {
    this.#live_items.set(key, item);
    this.#touch();
  }

  /** @param {string} key @param {number[]} points */
  addPoints(key, points) {
    const s = this.#live_items.get(key);
    if (!s || s.kind !== 'stroke') return;
    for (const p of points) s.points.push(p);
    this.#touch();
  }

  /** @param {string} key */
  end(key) {
    const s = this.#live_items.get(key);
    if (s) s.ended = true;
  }

  /**
   * Moves a live item into the committed picture at `seq`.
   * @param {string} key
   * @param {number} seq
   * @returns {boolean} whether the item was known
   */
  commit(key, seq) {
    const item = this.#live_items.get(key);
    if (!item) return false;
    this.#live_items.delete(key);
    this.apply(item, seq);
    this.#touch();
    return true;
  }

  /**
   * Paints a committed op into the base canvas and keeps it for replay.
   * @param {Item} item
   * @param {number} seq
   */
  apply(item, seq) {
    drawItem(this.#baseCtx, item);
    this.#log.set(seq, { item, undone: false });
    if (this.#log.size > MAX_LOG) {
      const oldest = Math.min(...this.#log.keys());
      this.#log.delete(oldest);
    }
  }

  /** Marks a logged op undone or redone (its tiles follow from the server). @param {number} seq @param {boolean} undone */
  setUndone(seq, undone) {
    const l = this.#log.get(seq);
    if (l) l.undone = undone;
  }

  /** Drops a live item without committing it. @param {string} key */
  drop(key) {
    this.#live_items.delete(key);
    this.#touch();
  }

  /** Drops every live item of one author. @param {number} author */
  dropAuthor(author) {
    for (const key of [...this.#live_items.keys()]) {
      if (key.startsWith(`${author}:`)) this.#live_items.delete(key);
    }
    this.#touch();
  }

  /**
   * Shows or moves a member's cursor.
   * @param {number} id
   * @param {string} name
   * @param {string} color
   * @param {number} x
   * @param {number} y
   */
  setCursor(id, name, color, x, y) {
    let el = this.#cursors.get(id);
    if (!el) {
      el = document.createElement('div');
      el.className = 'cursor';
      const label = document.createElement('span');
      el.append(label);
      this.#cursorLayer.append(el);
      this.#cursors.set(id, el);
    }
    el.style.setProperty('--cursor-color', color);
    /** @type {HTMLElement} */ (el.firstElementChild).textContent = name;
    el.style.left = `${(x / this.width) * 100}%`;
    el.style.top = `${(y / this.height) * 100}%`;
  }

  /** Renames a member's cursor label, if shown. @param {number} id @param {string} name */
  relabelCursor(id, name) {
    const label = this.#cursors.get(id)?.firstElementChild;
    if (label) label.textContent = name;
  }

  /** @param {number} id */
  removeCursor(id) {
    this.#cursors.get(id)?.remove();
    this.#cursors.delete(id);
  }

  #touch() {
    if (this.#dirty) return;
    this.#dirty = true;
    requestAnimationFrame(() => this.#render());
  }

  #render() {
    this.#dirty = false;
    this.#liveCtx.clearRect(0, 0, this.width, this.height);
    for (const item of this.#live_items.values()) drawItem(this.#liveCtx, item, { preview: true });
  }
}
