// Drawing input: turns Pointer Events on the board into local strokes and protocol messages.
// Points are sent in small batches (one message per animation frame at most); a very long stroke
// is split into several so it stays under the server's per-stroke limit.

import * as proto from '../net/protocol.js';

/** Points per stroke before the pen starts a new stroke seamlessly (server limit: 20,000). */
const SPLIT_AT = 10000;
/** Points per message before sending without waiting for the next frame (server limit: 1024). */
const FLUSH_AT = 256;

/**
 * @typedef {{
 *   board: import('../render/board.js').Board,
 *   send: (msg: object) => boolean,
 *   me: () => number | null,
 *   canDraw: () => boolean,
 *   style: () => {color: string, width: number},
 *   onCursor: (x: number, y: number) => void,
 *   onRefused: () => void,
 * }} PenOptions
 */

export class Pen {
  /** @type {PenOptions} */ #o;
  #nextId = 1;
  /** @type {{id: number, pointer: number, pending: number[], count: number, color: string, width: number} | null} */
  #active = null;
  #flushQueued = false;

  /** @param {PenOptions} options */
  constructor(options) {
    this.#o = options;
    const el = options.board.element;
    el.addEventListener('pointerdown', (e) => this.#down(e));
    el.addEventListener('pointermove', (e) => this.#move(e));
    el.addEventListener('pointerup', (e) => this.#up(e));
    el.addEventListener('pointercancel', (e) => this.#up(e));
    el.addEventListener('lostpointercapture', (e) => this.#up(e));
  }

  /** @param {PointerEvent} e */
  #point(e) {
    const [x, y] = this.#o.board.toCanvas(e.clientX, e.clientY);
    const pressure = e.pointerType === 'pen' ? e.pressure : 0.5;
    return [round(x), round(y), round(Math.min(1, Math.max(0, pressure)))];
  }

  /** @param {PointerEvent} e */
  #down(e) {
    if (e.button !== 0 || this.#active) return;
    if (!this.#o.canDraw()) {
      this.#o.onRefused();
      return;
    }
    const me = this.#o.me();
    if (me === null) return;
    e.preventDefault();
    this.#o.board.element.setPointerCapture(e.pointerId);
    const { color, width } = this.#o.style();
    this.#start(e.pointerId, color, width, this.#point(e));
  }

  /**
   * @param {number} pointer
   * @param {string} color
   * @param {number} width
   * @param {number[]} first
   */
  #start(pointer, color, width, first) {
    const id = this.#nextId++;
    this.#active = { id, pointer, pending: [], count: 1, color, width };
    this.#o.board.begin(`${this.#o.me()}:${id}`, { color, width, points: first });
    this.#o.send(proto.strokeBegin(id, 'pen', color, width, first));
  }

  /** @param {PointerEvent} e */
  #move(e) {
    const [cx, cy] = this.#o.board.toCanvas(e.clientX, e.clientY);
    this.#o.onCursor(round(cx), round(cy));
    const s = this.#active;
    if (!s || e.pointerId !== s.pointer) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const batch = [];
    for (const ev of events.length ? events : [e]) batch.push(...this.#point(ev));
    this.#o.board.addPoints(`${this.#o.me()}:${s.id}`, batch);
    s.pending.push(...batch);
    s.count += batch.length / 3;
    if (s.count >= SPLIT_AT) {
      // Continue seamlessly in a new stroke that starts at the last point.
      const last = batch.slice(-3);
      this.#finish();
      this.#start(s.pointer, s.color, s.width, last);
      return;
    }
    if (s.pending.length / 3 >= FLUSH_AT) this.#flush();
    else this.#queueFlush();
  }

  /** @param {PointerEvent} e */
  #up(e) {
    if (!this.#active || e.pointerId !== this.#active.pointer) return;
    this.#finish();
  }

  #finish() {
    const s = this.#active;
    if (!s) return;
    this.#flush();
    this.#o.board.end(`${this.#o.me()}:${s.id}`);
    this.#o.send(proto.strokeEnd(s.id));
    this.#active = null;
  }

  #queueFlush() {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    requestAnimationFrame(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #flush() {
    const s = this.#active;
    if (!s || s.pending.length === 0) return;
    this.#o.send(proto.strokePoints(s.id, s.pending));
    s.pending = [];
  }

  /** Forgets an unfinished stroke (after a reconnect the server no longer knows it). */
  reset() {
    this.#active = null;
  }
}

/** @param {number} v */
function round(v) {
  return Math.round(v * 100) / 100;
}
