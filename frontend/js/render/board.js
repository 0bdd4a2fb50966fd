// The board on screen: a base canvas holding the committed picture (authoritative tiles plus
// the ops committed after them, in seq order), a live canvas for strokes and shapes being drawn
// right now, and a layer of other members' cursors. Sized to the room in canvas pixels and
// scaled by CSS to fit.

import { drawItem } from './stroke.js';

/** @typedef {import('./stroke.js').Item} Item */
/** @typedef {{item: Item, undone: boolean}} Logged */

/** Committed ops kept for replay over older tiles. */
const MAX_LOG = 5000;

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
  /** View: zoom factor and pan offset (CSS px) applied on top of the fitted size. */
  #zoom = 1;
  #panX = 0;
  #panY = 0;
  /** A drag of the view in progress. @type {{id: number, x: number, y: number} | null} */
  #drag = null;
  /** Whether a plain drag (mouse or one finger) pans, as on view-only pages. */
  dragPans = false;
  /** True while the view is being dragged (the pen must not draw). */
  panning = false;
  /**
   * Called when the view changes; `byUser` is false when the program moved it (fit to a resized
   * window, follow mode).
   * @type {(zoom: number, byUser: boolean) => void}
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
    this.#listenForView(stage);
  }

  /** The current zoom factor (1 = fitted to the screen). */
  get zoom() {
    return this.#zoom;
  }

  /**
   * Zooms by `factor` keeping the point under (clientX, clientY) in place.
   * @param {number} factor
   * @param {number} clientX
   * @param {number} clientY
   */
  zoomAt(factor, clientX, clientY) {
    const zoom = Math.min(8, Math.max(0.25, this.#zoom * factor));
    const rect = this.element.getBoundingClientRect();
    // Layout position of the board's top-left, without the current transform.
    const left = rect.left - this.#panX;
    const top = rect.top - this.#panY;
    const cx = (clientX - rect.left) / this.#zoom;
    const cy = (clientY - rect.top) / this.#zoom;
    this.#panX = clientX - left - zoom * cx;
    this.#panY = clientY - top - zoom * cy;
    this.#zoom = zoom;
    this.#applyView(true);
  }

  /** Moves the view by (dx, dy) CSS pixels. @param {number} dx @param {number} dy */
  panBy(dx, dy) {
    this.#panX += dx;
    this.#panY += dy;
    this.#applyView(true);
  }

  /** Ends a drag of the view without ending `panning` (a two-finger gesture takes over). */
  cancelDrag() {
    this.#drag = null;
  }

  /** Back to the whole board fitted to the screen. */
  resetView() {
    this.#zoom = 1;
    this.#panX = 0;
    this.#panY = 0;
    this.#applyView(true);
  }

  /**
   * The rectangle of the canvas (in canvas pixels) the stage shows; it may reach outside the
   * canvas.
   * @returns {{x: number, y: number, width: number, height: number}}
   */
  visibleRect() {
    const s = this.#stage.getBoundingClientRect();
    const [x0, y0] = this.toCanvas(s.left, s.top);
    const [x1, y1] = this.toCanvas(s.right, s.bottom);
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  }

  /**
   * Fits a canvas rectangle into the stage, centred (follow mode).
   * @param {{x: number, y: number, width: number, height: number}} r
   */
  showRect(r) {
    const fitted = this.element.offsetWidth;
    if (!this.width || !fitted || !(r.width > 0) || !(r.height > 0)) return;
    const s = this.#stage.getBoundingClientRect();
    const b = this.element.getBoundingClientRect();
    // Layout position of the board's top-left, without the current transform.
    const left = b.left - this.#panX;
    const top = b.top - this.#panY;
    const perPixel = fitted / this.width; // CSS px per canvas px at zoom 1
    const zoom = Math.min(8, Math.max(0.25, Math.min(s.width / r.width, s.height / r.height) / perPixel));
    const k = zoom * perPixel;
    this.#panX = s.left + s.width / 2 - left - k * (r.x + r.width / 2);
    this.#panY = s.top + s.height / 2 - top - k * (r.y + r.height / 2);
    this.#zoom = zoom;
    this.#applyView(false);
  }

  /** @param {boolean} byUser */
  #applyView(byUser) {
    this.element.style.transform = `translate(${this.#panX}px, ${this.#panY}px) scale(${this.#zoom})`;
    // Cursors keep their size at any zoom.
    this.element.style.setProperty('--view-zoom', String(this.#zoom));
    this.onView(this.#zoom, byUser);
  }

  /**
   * Wheel and pinch (ctrl+wheel) zoom; drag with the middle button, or with space held (or any
   * drag when `dragPans`), to pan.
   * @param {HTMLElement} stage
   */
  #listenForView(stage) {
    stage.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.zoomAt(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), e.clientX, e.clientY);
    }, { passive: false });
    let space = false;
    window.addEventListener('keydown', (e) => {
      // Space on a focused control activates it; elsewhere it is held to pan.
      const control = e.target instanceof Element && e.target.closest('input, button, select, textarea, a, dialog');
      if (e.code === 'Space' && !control) {
        space = true;
        stage.classList.add('can-pan');
        e.preventDefault();
      }
    });
    window.addEventListener('keyup', (e) => {
      if (e.code === 'Space') {
        space = false;
        stage.classList.remove('can-pan');
      }
    });
    stage.addEventListener('pointerdown', (e) => {
      if (this.#drag || !(e.button === 1 || (e.button === 0 && (space || this.dragPans)))) return;
      e.preventDefault();
      e.stopPropagation();
      this.#drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
      this.panning = true;
      stage.setPointerCapture(e.pointerId);
    }, { capture: true });
    stage.addEventListener('pointermove', (e) => {
      const drag = this.#drag;
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      drag.x = e.clientX;
      drag.y = e.clientY;
      this.panBy(dx, dy);
    });
    const end = (/** @type {PointerEvent} */ e) => {
      if (this.#drag && e.pointerId === this.#drag.id) {
        this.#drag = null;
        this.panning = false;
      }
    };
    stage.addEventListener('pointerup', end);
    stage.addEventListener('pointercancel', end);
  }

  /**
   * Sizes the board for a room and clears everything.
   * @param {{width: number, height: number, background: string}} room
   */
  reset(room) {
    this.width = room.width;
    this.height = room.height;
    for (const c of [this.base, this.#live]) {
      c.width = room.width;
      c.height = room.height;
    }
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

  /** Scales the board to fit its stage, keeping the aspect ratio. */
  fit() {
    if (!this.width) return;
    const pad = 24;
    const w = Math.max(50, this.#stage.clientWidth - pad * 2);
    const h = Math.max(50, this.#stage.clientHeight - pad * 2);
    const scale = Math.min(w / this.width, h / this.height);
    this.element.style.width = `${Math.round(this.width * scale)}px`;
    this.element.style.height = `${Math.round(this.height * scale)}px`;
    this.onView(this.#zoom, false);
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
