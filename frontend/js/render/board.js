// The board on screen: a base canvas holding the committed picture (authoritative tiles plus
// committed strokes, in seq order), a live canvas for strokes being drawn right now, and a layer
// of other members' cursors. Sized to the room in canvas pixels and scaled by CSS to fit.

import { drawStroke } from './stroke.js';

/** @typedef {{color: string, width: number, points: number[], ended: boolean}} LiveStroke */

export class Board {
  /** @type {HTMLElement} */ #stage;
  /** @type {HTMLElement} */ element;
  /** @type {HTMLCanvasElement} */ base;
  /** @type {HTMLCanvasElement} */ #live;
  /** @type {HTMLElement} */ #cursorLayer;
  /** @type {CanvasRenderingContext2D} */ #baseCtx;
  /** @type {CanvasRenderingContext2D} */ #liveCtx;
  /** @type {Map<string, LiveStroke>} */ #strokes = new Map();
  /** @type {Map<number, HTMLElement>} */ #cursors = new Map();
  #dirty = false;
  width = 0;
  height = 0;

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
    this.#strokes.clear();
    this.#dirty = true;
    this.#schedule();
    this.fit();
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
   * Replaces one tile of the base canvas with an authoritative image.
   * @param {import("../net/protocol.js").TileFrame} tile
   */
  async putTile(tile) {
    const x = tile.col * tile.tileSize;
    const y = tile.row * tile.tileSize;
    if (tile.empty) {
      this.#baseCtx.clearRect(x, y, tile.tileSize, tile.tileSize);
      return;
    }
    const bitmap = await createImageBitmap(new Blob([tile.png], { type: 'image/png' }), {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
    this.#baseCtx.clearRect(x, y, bitmap.width, bitmap.height);
    this.#baseCtx.drawImage(bitmap, x, y);
    bitmap.close();
  }

  /**
   * Starts a live stroke.
   * @param {string} key "author:stroke"
   * @param {{color: string, width: number, points: number[]}} stroke
   */
  begin(key, stroke) {
    this.#strokes.set(key, { color: stroke.color, width: stroke.width, points: [...stroke.points], ended: false });
    this.#touch();
  }

  /** @param {string} key @param {number[]} points */
  addPoints(key, points) {
    const s = this.#strokes.get(key);
    if (!s) return;
    for (const p of points) s.points.push(p);
    this.#touch();
  }

  /** @param {string} key */
  end(key) {
    const s = this.#strokes.get(key);
    if (s) s.ended = true;
  }

  /**
   * Moves a live stroke into the committed picture.
   * @param {string} key
   * @returns {boolean} whether the stroke was known
   */
  commit(key) {
    const s = this.#strokes.get(key);
    if (!s) return false;
    this.#strokes.delete(key);
    drawStroke(this.#baseCtx, s);
    this.#touch();
    return true;
  }

  /** Drops every live stroke of one author. @param {number} author */
  dropAuthor(author) {
    for (const key of [...this.#strokes.keys()]) {
      if (key.startsWith(`${author}:`)) this.#strokes.delete(key);
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

  /** @param {number} id */
  removeCursor(id) {
    this.#cursors.get(id)?.remove();
    this.#cursors.delete(id);
  }

  #touch() {
    this.#dirty = true;
    this.#schedule();
  }

  #schedule() {
    requestAnimationFrame(() => this.#render());
  }

  #render() {
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#liveCtx.clearRect(0, 0, this.width, this.height);
    for (const s of this.#strokes.values()) drawStroke(this.#liveCtx, s);
  }
}
