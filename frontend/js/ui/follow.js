// Follow mode: this page reports the part of the canvas it shows (`view`), remembers the views
// others report (`views`), and while following someone fits their view into its own stage. Any
// pan or zoom by hand, Escape, or the leader leaving stops following.

import * as proto from '../net/protocol.js';
import { toast } from './toast.js';

/** At most one `view` message per this many milliseconds. */
const VIEW_INTERVAL_MS = 33;

/** @typedef {{x: number, y: number, width: number, height: number}} Rect */

export class Follow {
  /** @type {import('../render/board.js').Board} */ #board;
  /** @type {(msg: object) => boolean} */ #send;
  /** @type {(id: number) => string} */ #nameOf;
  /** Last known view of each member. @type {Map<number, Rect>} */
  views = new Map();
  /** The member being followed. @type {number | null} */
  leader = null;
  /** Called when following starts or stops. */
  onChange = () => {};
  #banner;
  #lastSent = '';
  #lastSentAt = -Infinity;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #timer = null;
  #online = false;
  /** True while this class itself moves the view. */
  #showing = false;

  /**
   * @param {import('../render/board.js').Board} board
   * @param {(msg: object) => boolean} send
   * @param {(id: number) => string} nameOf
   * @param {HTMLElement} banner
   */
  constructor(board, send, nameOf, banner) {
    this.#board = board;
    this.#send = send;
    this.#nameOf = nameOf;
    this.#banner = banner;
    banner.querySelector('button')?.addEventListener('click', () => this.stop());
  }

  /** Synced (true) or disconnected (false): views are only sent in sync. @param {boolean} on */
  setOnline(on) {
    this.#online = on;
    if (on) {
      this.#lastSent = '';
      this.viewChanged(false);
    } else {
      this.views.clear();
    }
  }

  /**
   * Our view changed; by hand (`byUser`) it ends following. Sends it, throttled.
   * @param {boolean} byUser
   */
  viewChanged(byUser) {
    if (byUser && this.leader !== null) this.stop();
    // The stage was resized while following: fit the leader's view again.
    if (!byUser && !this.#showing && this.leader !== null) this.#show(this.leader);
    if (this.#timer !== null) return;
    const wait = Math.max(0, VIEW_INTERVAL_MS - (performance.now() - this.#lastSentAt));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#sendView();
    }, wait);
  }

  #sendView() {
    const b = this.#board;
    if (!this.#online || !b.width) return;
    const r = b.visibleRect();
    // The server accepts rectangles of at most 16 canvases, within 16 canvas sizes of the origin.
    const clamp = (/** @type {number} */ v, /** @type {number} */ lim) => Math.round(Math.min(lim, Math.max(-lim, v)) * 10) / 10;
    const width = Math.max(1, clamp(r.width, 16 * b.width));
    const height = Math.max(1, clamp(r.height, 16 * b.height));
    const msg = proto.view(clamp(r.x, 15 * b.width), clamp(r.y, 15 * b.height), width, height);
    const sig = JSON.stringify(msg);
    if (sig === this.#lastSent || !Number.isFinite(width + height)) return;
    if (this.#send(msg)) {
      this.#lastSent = sig;
      this.#lastSentAt = performance.now();
    }
  }

  /** A `views` message from the server. @param {unknown} list */
  received(list) {
    if (!Array.isArray(list)) return;
    for (const v of list) {
      if (!proto.isView(v)) continue;
      const rect = { x: v.x, y: v.y, width: v.width, height: v.height };
      this.views.set(v.id, rect);
      if (v.id === this.leader) this.#show(v.id);
    }
  }

  /** @param {number} id */
  start(id) {
    this.leader = id;
    const name = /** @type {HTMLElement} */ (this.#banner.querySelector('.follow-name'));
    name.textContent = this.#nameOf(id);
    this.#banner.hidden = false;
    this.#show(id);
    this.onChange();
  }

  /** Fits a member's last known view into the stage. @param {number} id */
  #show(id) {
    const v = this.views.get(id);
    if (!v) return;
    this.#showing = true;
    try {
      this.#board.showRect(v);
    } finally {
      this.#showing = false;
    }
  }

  /** @param {string} [why] shown as a message */
  stop(why) {
    if (this.leader === null) return;
    this.leader = null;
    this.#banner.hidden = true;
    if (why) toast(why);
    this.onChange();
  }

  /** A member left. @param {number} id */
  left(id) {
    const name = this.#nameOf(id);
    this.views.delete(id);
    if (id === this.leader) this.stop(`${name} left: stopped following.`);
  }

  /** A member was renamed. @param {number} id */
  renamed(id) {
    if (id !== this.leader) return;
    const name = /** @type {HTMLElement} */ (this.#banner.querySelector('.follow-name'));
    name.textContent = this.#nameOf(id);
  }
}
