// Drawing input: turns Pointer Events on the board into local strokes, shapes and fills, and
// into protocol messages. Points are sent in small batches (one message per animation frame at
// most); a very long stroke is split into several so it stays under the server's per-stroke limit.
//
// Touch: a pen in use (down, hovering, or used in the last moments) makes touches not draw (palm
// rejection). A one-finger stroke is held back briefly before it is sent, so that a second finger
// landing right after it (a pinch or two-finger pan, see gestures.js) cancels it without a trace.
//
// Mouse and stylus: a press is sent once it moves; a click (a dot) waits out the double-click
// time, and the second click of a double-click takes the dot back and draws nothing.
//
// A line, rectangle or ellipse being dragged is streamed to the others as `shape_preview`.

import * as proto from '../net/protocol.js';
import { Steady, steadyLevel } from './steady.js';

/** Points per stroke before the pen starts a new stroke seamlessly (server limit: 20,000). */
const SPLIT_AT = 10000;
/** Points per message before sending without waiting for the next frame (server limit: 1024). */
const FLUSH_AT = 256;
/** How long a touch stroke is held back (drawn locally, not sent) waiting for a second finger. */
const TOUCH_HOLD_MS = 150;
/** Touches do not draw for this long after the last pen (stylus) event. */
const PALM_MS = 1500;
/** A mouse or stylus press is sent once it has moved this far (CSS px); before, it may be a click. */
const MOVE_SLOP = 3;
/** A click's dot waits this long for a second click (a double-click draws nothing). */
const DOUBLE_CLICK_MS = 400;
/** How near the first click the second one must be (CSS px). */
const DOUBLE_CLICK_SLOP = 6;
/** At most one shape preview per this many milliseconds (the room relays one a tick). */
const PREVIEW_MS = 33;

/**
 * @typedef {{
 *   board: import('../render/board.js').Board,
 *   send: (msg: object) => boolean,
 *   me: () => number | null,
 *   canDraw: () => boolean,
 *   online: () => boolean,
 *   style: () => {tool: string, color: string, width: number, fillShapes: boolean},
 *   onCursor: (x: number, y: number) => void,
 *   onRefused: () => void,
 *   onText?: (x: number, y: number) => void,
 * }} PenOptions
 */

/**
 * A line, rectangle or ellipse being dragged. `previewed`: others were sent a preview of it;
 * `sentAt`, `timer`: when the last preview went, and the one waiting to go.
 * @typedef {{id: number, pointer: number, touch: boolean, item: import('../render/stroke.js').ShapeItem,
 *   previewed: boolean, sentAt: number, timer: ReturnType<typeof setTimeout> | undefined}} ShapeDrag
 */

export class Pen {
  /** @type {PenOptions} */ #o;
  #nextId = 1;
  /**
   * The stroke being drawn. `held`: a touch stroke not sent yet (see TOUCH_HOLD_MS).
   * `x`, `y`: where it started (client px).
   * @type {{id: number, pointer: number, pending: number[], count: number, tool: string, color: string,
   *   width: number, held: boolean, touch: boolean, x: number, y: number, steady: Steady} | null}
   */
  #active = null;
  /** The shape being dragged. @type {ShapeDrag | null} */
  #shape = null;
  /** A clicked dot waiting out the double-click time before it is sent (client px). */
  /** @type {{id: number, x: number, y: number, timer: ReturnType<typeof setTimeout>} | null} */
  #dot = null;
  /** The pointer of a double-click's second press, which draws nothing. @type {number | null} */
  #ignored = null;
  /** A fill tapped with a finger, sent when the finger lifts unless a gesture started. */
  /** @type {{pointer: number, x: number, y: number, color: string} | null} */
  #tapFill = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #holdTimer;
  /** Pen (stylus) pointers down, and when a pen was last seen, for palm rejection. */
  #pensDown = new Set();
  #penSeen = -Infinity;
  /**
   * Own strokes not yet committed, kept so that a stroke drawn offline, or cut off by a dropped
   * connection, is sent again once the page is back in sync.
   * Each has an op id of its own, sent with it every time: the server answers a stroke it
   * already committed with that commit instead of drawing it twice.
   * @type {Map<number, {key: string, op: string, tool: string, color: string, width: number,
   *   points: number[], sent: boolean, ended: boolean, endSent: boolean}>}
   */
  #unacked = new Map();
  #flushQueued = false;

  /** @param {PenOptions} options */
  constructor(options) {
    this.#o = options;
    const el = options.board.element;
    const stylus = (/** @type {PointerEvent} */ e) => {
      if (e.pointerType !== 'pen') return;
      this.#penSeen = performance.now();
      if (e.type === 'pointerdown') this.#pensDown.add(e.pointerId);
      if (e.type === 'pointerup' || e.type === 'pointercancel') this.#pensDown.delete(e.pointerId);
    };
    for (const type of ['pointerdown', 'pointermove', 'pointerup', 'pointercancel']) {
      el.addEventListener(type, (e) => stylus(/** @type {PointerEvent} */ (e)));
    }
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

  /** Whether a pen (stylus) is touching the screen now. */
  get penDown() {
    return this.#pensDown.size > 0;
  }

  /** Whether touches should be ignored because a pen is in use (palm rejection). */
  palmRejecting() {
    return this.#pensDown.size > 0 || performance.now() - this.#penSeen < PALM_MS;
  }

  /** @param {PointerEvent} e */
  #down(e) {
    // The Select tool (select.js) takes its own presses.
    if (this.#o.style().tool === 'select') return;
    if (e.button !== 0 || this.#active || this.#shape || this.#tapFill || this.#o.board.panning) return;
    const touch = e.pointerType === 'touch';
    if (touch && this.palmRejecting()) return;
    if (!this.#o.canDraw()) {
      this.#o.onRefused();
      return;
    }
    const me = this.#o.me();
    if (me === null) return;
    e.preventDefault();
    const dot = this.#dot;
    if (dot) {
      if (!touch && Math.hypot(e.clientX - dot.x, e.clientY - dot.y) <= DOUBLE_CLICK_SLOP) {
        // A double-click: neither click draws.
        this.#dropDot();
        this.#ignored = e.pointerId;
        return;
      }
      // A press elsewhere: the dot goes first.
      this.#sendDot();
    }
    const { tool, color, width, fillShapes } = this.#o.style();
    const [x, y] = this.#point(e);
    const freehand = tool === 'pen' || tool === 'highlighter' || tool === 'eraser';
    if (!freehand && !this.#o.online()) {
      // Shapes and fills are drawn by the server: they need the connection.
      this.#o.onRefused();
      return;
    }
    if (tool === 'text') {
      // The Text tool places or commits a text box (ui/texttool.js).
      this.#o.onText?.(x, y);
      return;
    }
    if (tool === 'fill') {
      if (touch) this.#tapFill = { pointer: e.pointerId, x, y, color };
      else this.#fill(x, y, color);
      return;
    }
    this.#o.board.element.setPointerCapture(e.pointerId);
    if (tool === 'line' || tool === 'rect' || tool === 'ellipse') {
      const id = this.#nextId++;
      const item = /** @type {import('../render/stroke.js').ShapeItem} */ ({
        kind: 'shape', shape: tool, x0: x, y0: y, x1: x, y1: y, color, width, fill: fillShapes && tool !== 'line',
      });
      this.#shape = { id, pointer: e.pointerId, touch, item, previewed: false, sentAt: -Infinity, timer: undefined };
      this.#o.board.begin(`${me}:${id}`, item);
      return;
    }
    // Held back: a touch until a second finger can no longer turn it into a gesture, a mouse or
    // stylus press until it moves (a click may be half of a double-click).
    this.#start(e.pointerId, tool, color, width, this.#point(e), touch, true, e.clientX, e.clientY);
    if (touch) this.#holdTimer = setTimeout(() => this.#release(), TOUCH_HOLD_MS);
  }

  /** The clicked dot's wait is over: send it. */
  #sendDot() {
    const dot = this.#dot;
    if (!dot) return;
    clearTimeout(dot.timer);
    this.#dot = null;
    const record = this.#unacked.get(dot.id);
    if (record && !record.sent && this.#o.online()) this.#sendRecord(dot.id, record);
  }

  /** The dot was the first click of a double-click: it is taken back, unsent. */
  #dropDot() {
    const dot = this.#dot;
    if (!dot) return;
    clearTimeout(dot.timer);
    this.#dot = null;
    const record = this.#unacked.get(dot.id);
    this.#o.board.drop(record?.key ?? `${this.#o.me()}:${dot.id}`);
    this.#unacked.delete(dot.id);
  }

  /** Sends the dragged shape's preview now, or once PREVIEW_MS has passed since the last one. */
  #preview() {
    const sh = this.#shape;
    if (!sh || sh.timer !== undefined) return;
    const wait = sh.sentAt + PREVIEW_MS - performance.now();
    const send = () => {
      sh.timer = undefined;
      if (this.#shape !== sh) return;
      sh.sentAt = performance.now();
      const { shape, x0, y0, x1, y1, color, width, fill } = sh.item;
      if (this.#o.send(proto.shapePreview(sh.id, shape, x0, y0, x1, y1, color, width, fill))) sh.previewed = true;
    };
    if (wait <= 0) send();
    else sh.timer = setTimeout(send, wait);
  }

  /**
   * The dragged shape will not be committed: it goes from the screen, and from others' screens.
   * @param {ShapeDrag} sh
   */
  #cancelShape(sh) {
    clearTimeout(sh.timer);
    this.#o.board.drop(`${this.#o.me()}:${sh.id}`);
    if (sh.previewed) this.#o.send(proto.shapePreviewCancel(sh.id));
  }

  /** @param {number} x @param {number} y @param {string} color */
  #fill(x, y, color) {
    if (x >= 0 && y >= 0 && x < this.#o.board.width && y < this.#o.board.height) {
      this.#o.send(proto.fill(this.#nextId++, Math.floor(x), Math.floor(y), color, 32));
    }
  }

  /**
   * A two-finger gesture starts: a touch stroke still held back, a touch shape or a tapped fill
   * is dropped without a trace; a touch stroke already sent ends where it is.
   */
  cancelTouch() {
    this.#tapFill = null;
    const sh = this.#shape;
    if (sh && sh.touch) {
      this.#shape = null;
      this.#cancelShape(sh);
    }
    const s = this.#active;
    if (!s || !s.touch) return;
    clearTimeout(this.#holdTimer);
    if (s.held) {
      const record = this.#unacked.get(s.id);
      this.#o.board.drop(record?.key ?? `${this.#o.me()}:${s.id}`);
      this.#unacked.delete(s.id);
      this.#active = null;
    } else {
      this.#finish();
    }
  }

  /** The hold of a touch stroke is over: send it, with the points drawn so far. */
  #release() {
    clearTimeout(this.#holdTimer);
    const s = this.#active;
    if (!s || !s.held) return;
    s.held = false;
    s.pending = [];
    const record = this.#unacked.get(s.id);
    if (record && this.#o.online()) this.#sendRecord(s.id, record);
  }

  /**
   * @param {number} pointer
   * @param {string} tool
   * @param {string} color
   * @param {number} width
   * @param {number[]} first
   * @param {boolean} touch drawn with a finger
   * @param {boolean} hold held back at first, not sent yet
   * @param {number} x where the press started (client px)
   * @param {number} y
   */
  #start(pointer, tool, color, width, first, touch, hold, x, y) {
    const id = this.#nextId++;
    const steady = new Steady(steadyLevel(), first);
    this.#active = { id, pointer, pending: [], count: 1, tool, color, width, held: hold, touch, x, y, steady };
    const key = `${this.#o.me()}:${id}`;
    this.#o.board.begin(key, { kind: 'stroke', tool, color, width, points: first });
    const op = proto.opId();
    const sent = !hold && this.#o.send(proto.strokeBegin(id, tool, color, width, first, op));
    this.#unacked.set(id, { key, op, tool, color, width, points: [...first], sent, ended: false, endSent: false });
  }

  /** @param {PointerEvent} e */
  #move(e) {
    const [cx, cy] = this.#o.board.toCanvas(e.clientX, e.clientY);
    this.#o.onCursor(round(cx), round(cy));
    const sh = this.#shape;
    if (sh && e.pointerId === sh.pointer) {
      sh.item = { ...sh.item, x1: round(cx), y1: round(cy) };
      this.#o.board.update(`${this.#o.me()}:${sh.id}`, sh.item);
      this.#preview();
      return;
    }
    const s = this.#active;
    if (!s || e.pointerId !== s.pointer) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const raw = [];
    for (const ev of events.length ? events : [e]) raw.push(...this.#point(ev));
    // Steady hand: the points drawn and sent are the smoothed ones.
    const batch = s.steady.push(raw);
    if (batch.length === 0) {
      if (s.held && !s.touch && Math.hypot(e.clientX - s.x, e.clientY - s.y) > MOVE_SLOP) this.#release();
      return;
    }
    const record = this.#unacked.get(s.id);
    this.#o.board.addPoints(record?.key ?? `${this.#o.me()}:${s.id}`, batch);
    record?.points.push(...batch);
    s.pending.push(...batch);
    s.count += batch.length / 3;
    // A mouse or stylus press that moves is a stroke, not a click: send it.
    if (s.held && !s.touch && Math.hypot(e.clientX - s.x, e.clientY - s.y) > MOVE_SLOP) this.#release();
    if (s.count >= SPLIT_AT) {
      // Continue seamlessly in a new stroke that starts at the last point.
      const last = batch.slice(-3);
      this.#release();
      this.#finish();
      this.#start(s.pointer, s.tool, s.color, s.width, last, s.touch, false, e.clientX, e.clientY);
      return;
    }
    if (s.pending.length / 3 >= FLUSH_AT) this.#flush();
    else this.#queueFlush();
  }

  /** @param {PointerEvent} e */
  #up(e) {
    if (e.pointerId === this.#ignored) {
      this.#ignored = null;
      return;
    }
    const tap = this.#tapFill;
    if (tap && e.pointerId === tap.pointer) {
      this.#tapFill = null;
      if (e.type === 'pointerup') this.#fill(tap.x, tap.y, tap.color);
      return;
    }
    const sh = this.#shape;
    if (sh && e.pointerId === sh.pointer) {
      this.#shape = null;
      const key = `${this.#o.me()}:${sh.id}`;
      const { shape, x0, y0, x1, y1, color, width, fill } = sh.item;
      if ((x0 === x1 && y0 === y1) || e.type !== 'pointerup') {
        // A click (or a lost pointer) makes no shape.
        this.#cancelShape(sh);
        return;
      }
      clearTimeout(sh.timer);
      this.#o.board.end(key);
      // Its commit ends the preview others see.
      this.#o.send(proto.shape(sh.id, shape, x0, y0, x1, y1, color, width, fill));
      return;
    }
    const s = this.#active;
    if (!s || e.pointerId !== s.pointer) return;
    if (!s.touch && s.held && e.type === 'pointerup') {
      // A click: its dot waits for a possible second click.
      this.#finish();
      this.#dot = { id: s.id, x: s.x, y: s.y, timer: setTimeout(() => this.#sendDot(), DOUBLE_CLICK_MS) };
      return;
    }
    // A quick tap with a finger is a dot: send it now.
    this.#release();
    this.#finish();
  }

  /** A fresh client id for an op that is not drawn with the pointer (clear). */
  nextId() {
    return this.#nextId++;
  }

  #finish() {
    const s = this.#active;
    if (!s) return;
    const record = this.#unacked.get(s.id);
    // A smoothed stroke catches up with the pointer: it ends where the pen lifted.
    const tail = s.steady.end();
    if (tail.length) {
      this.#o.board.addPoints(record?.key ?? `${this.#o.me()}:${s.id}`, tail);
      record?.points.push(...tail);
      if (!s.held) s.pending.push(...tail);
    }
    this.#flush();
    this.#o.board.end(record?.key ?? `${this.#o.me()}:${s.id}`);
    if (record) {
      record.ended = true;
      if (record.sent) record.endSent = this.#o.send(proto.strokeEnd(s.id));
      if (!record.endSent) record.sent = false;
    }
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
    if (!s || s.pending.length === 0 || s.held) return;
    const record = this.#unacked.get(s.id);
    if (record?.sent && !this.#o.send(proto.strokePoints(s.id, s.pending))) record.sent = false;
    s.pending = [];
  }

  /** The server committed one of our strokes. @param {number} id */
  committed(id) {
    this.#unacked.delete(id);
  }

  /**
   * The server will never commit one of our strokes (the room turned read-only, or could not
   * save it): forget it, and stop drawing it if it is still under the pointer.
   * @param {number} id
   */
  dropped(id) {
    if (this.#dot?.id === id) {
      clearTimeout(this.#dot.timer);
      this.#dot = null;
    }
    this.#unacked.delete(id);
    if (this.#active?.id === id) this.#active = null;
  }

  /**
   * The connection dropped: every stroke not yet committed is sent again by `resend`. One whose
   * end reached the server may have been committed all the same (the commit was lost with the
   * connection, or with a server that went down): its op id makes the server answer with that
   * commit rather than draw it twice.
   */
  connectionLost() {
    for (const record of this.#unacked.values()) {
      record.sent = false;
      record.endSent = false;
    }
  }

  /** After `synced`: sends again every stroke the server does not have, in order. */
  resend() {
    const me = this.#o.me();
    for (const [id, record] of this.#unacked) {
      if (record.sent || (this.#active?.id === id && this.#active.held) || this.#dot?.id === id) continue;
      const { tool, color, width, points } = record;
      record.key = `${me}:${id}`;
      this.#o.board.begin(record.key, { kind: 'stroke', tool, color, width, points });
      if (record.ended) this.#o.board.end(record.key);
      this.#sendRecord(id, record);
    }
  }

  /**
   * Sends a whole stroke the server does not have yet: its points so far, and its end if ended.
   * @param {number} id
   * @param {{op: string, tool: string, color: string, width: number, points: number[], sent: boolean, ended: boolean, endSent: boolean}} record
   */
  #sendRecord(id, record) {
    const { tool, color, width, points } = record;
    // At most FLUSH_AT points a message.
    const chunk = FLUSH_AT * 3;
    let sent = this.#o.send(proto.strokeBegin(id, tool, color, width, points.slice(0, chunk), record.op));
    for (let i = chunk; sent && i < points.length; i += chunk) {
      sent = this.#o.send(proto.strokePoints(id, points.slice(i, i + chunk)));
    }
    record.sent = sent;
    if (sent && record.ended) record.endSent = this.#o.send(proto.strokeEnd(id));
    if (this.#active?.id === id) this.#active.pending = [];
  }

  /** Forgets everything (a fresh canvas: another board, or the server's state replaced ours). */
  reset() {
    clearTimeout(this.#holdTimer);
    if (this.#dot) clearTimeout(this.#dot.timer);
    if (this.#shape) clearTimeout(this.#shape.timer);
    this.#dot = null;
    this.#ignored = null;
    this.#tapFill = null;
    this.#active = null;
    this.#shape = null;
    this.#unacked.clear();
  }
}

/** @param {number} v */
function round(v) {
  return Math.round(v * 100) / 100;
}
