// Mirrors docs/protocol.md: builders for every client message and a parser for binary frames.

/** Kind byte of a tile frame. */
export const FRAME_TILE = 1;
/** Flag bit: the tile is empty and no PNG follows. */
export const FLAG_EMPTY = 1;
/** Length of the binary frame header. */
export const HEADER_LEN = 16;

/**
 * The first message. It asks for `batch` frames: a tick's messages in one frame.
 * @param {string} name
 * @param {string | null} key
 * @param {string} user stable id of this browser's person (keys undo history)
 * @param {number | null} since seq the local canvas is complete at, to resume; null for all
 */
export function hello(name, key, user, since) {
  /** @type {{type: string, name: string, user: string, batch: boolean, key?: string, since?: number}} */
  const msg = { type: 'hello', name, user, batch: true };
  if (key) msg.key = key;
  if (since !== null) msg.since = since;
  return msg;
}

/**
 * @param {number} stroke
 * @param {string} tool
 * @param {string} color
 * @param {number} width
 * @param {number[]} points
 * @param {string} op this stroke's own id, the same when it is sent again after a reconnect
 */
export const strokeBegin = (stroke, tool, color, width, points, op) => ({
  type: 'stroke_begin', stroke, tool, color, width, points, op,
});

/** A random id for an op: 16 characters of `0-9a-f`. */
export function opId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {number} stroke @param {number[]} points */
export const strokePoints = (stroke, points) => ({ type: 'stroke_points', stroke, points });

/** @param {number} stroke */
export const strokeEnd = (stroke) => ({ type: 'stroke_end', stroke });

/** @param {number} x @param {number} y */
export const cursor = (x, y) => ({ type: 'cursor', x, y });

/**
 * The rectangle of the canvas the sender sees, in canvas pixels (follow mode).
 * @param {number} x @param {number} y @param {number} width @param {number} height
 */
export const view = (x, y, width, height) => ({ type: 'view', x, y, width, height });

/**
 * @param {number} id
 * @param {'line' | 'rect' | 'ellipse'} shape
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
 * @param {string} color
 * @param {number} width
 * @param {boolean} fill
 */
export const shape = (id, shape, x0, y0, x1, y1, color, width, fill) => ({
  type: 'shape', id, shape, x0, y0, x1, y1, color, width, fill,
});

/**
 * The shape being dragged, for others to see live (never stored); its `shape` ends it.
 * @param {number} id the id its `shape` will carry
 * @param {'line' | 'rect' | 'ellipse'} shape
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
 * @param {string} color
 * @param {number} width
 * @param {boolean} fill
 */
export const shapePreview = (id, shape, x0, y0, x1, y1, color, width, fill) => ({
  type: 'shape_preview', id, shape, x0, y0, x1, y1, color, width, fill,
});

/** A dragged shape that will not be committed: others drop its preview. @param {number} id */
export const shapePreviewCancel = (id) => ({ type: 'shape_preview', id, cancel: true });

/** @param {number} id @param {number} x @param {number} y @param {string} color @param {number} tolerance */
export const fill = (id, x, y, color, tolerance) => ({ type: 'fill', id, x, y, color, tolerance });

/** @param {number} id */
export const clear = (id) => ({ type: 'clear', id });

/**
 * Moves the pixels of a selection by (dx, dy), scaled about its top-left; with `del`, erases
 * them instead (the Delete key).
 * @param {number} id
 * @param {{rect: number[]} | {lasso: number[]}} selection
 * @param {number} dx @param {number} dy @param {number} scale @param {boolean} del
 */
export const move = (id, selection, dx, dy, scale, del) => ({
  type: 'move', id, ...selection, dx, dy, ...(scale !== 1 ? { scale } : {}), ...(del ? { delete: true } : {}),
});

/**
 * A block of text in the bundled font (see render/text.js).
 * @param {number} id @param {number} x @param {number} y @param {string} text @param {number} size @param {string} color
 */
export const text = (id, x, y, text, size, color) => ({ type: 'text', id, x, y, text, size, color });

/**
 * Sets the whole canvas back to how it was at `seq`, as one op (undoable like any other).
 * @param {number} id @param {number} seq
 */
export const restore = (id, seq) => ({ type: 'restore', id, seq });

/** @param {string} name */
export const rename = (name) => ({ type: 'rename', name });

/**
 * Asks for a page of members (viewers included) in id order, after member `after`.
 * @param {number | null} after the `next` of the previous page; null for the first page
 */
export const listMembers = (after) => (after === null ? { type: 'list_members' } : { type: 'list_members', after });

export const undo = () => ({ type: 'undo' });
export const redo = () => ({ type: 'redo' });

/**
 * @typedef {{kind: number, empty: boolean, col: number, row: number, tileSize: number,
 *   seq: number, png: Uint8Array<ArrayBuffer>}} TileFrame
 */

/**
 * Parses a binary frame from the server.
 * @param {ArrayBuffer} buffer
 * @returns {TileFrame | null} null for unknown kinds
 */
export function parseFrame(buffer) {
  if (buffer.byteLength < HEADER_LEN) return null;
  const view = new DataView(buffer);
  const kind = view.getUint8(0);
  if (kind !== FRAME_TILE) return null;
  const flags = view.getUint8(1);
  return {
    kind,
    empty: (flags & FLAG_EMPTY) !== 0,
    col: view.getUint16(2),
    row: view.getUint16(4),
    tileSize: view.getUint16(6),
    seq: Number(view.getBigUint64(8)),
    png: new Uint8Array(buffer, HEADER_LEN),
  };
}

/**
 * Checks a rectangle of a server `views` message.
 * @param {unknown} v
 * @returns {v is {id: number, x: number, y: number, width: number, height: number}}
 */
export function isView(v) {
  if (typeof v !== 'object' || v === null) return false;
  const r = /** @type {Record<string, unknown>} */ (v);
  const num = (/** @type {unknown} */ n) => typeof n === 'number' && Number.isFinite(n);
  return num(r.id) && num(r.x) && num(r.y) && num(r.width) && num(r.height)
    && /** @type {number} */ (r.width) > 0 && /** @type {number} */ (r.height) > 0;
}

/** Human sentences for the server's error codes. */
export const ERROR_TEXT = {
  bad_key: 'This edit link is not valid for this board.',
  read_only: 'This is a view-only link: you cannot draw.',
  bad_message: 'The server did not understand a message.',
  too_large: 'That was too much at once.',
  unknown_stroke: 'A stroke was lost on the way; please draw it again.',
  duplicate_stroke: 'A stroke was sent twice.',
  too_many_strokes: 'Too many strokes at once.',
  room_full: 'This board is full.',
  nothing_to_undo: 'Nothing to undo or redo.',
  not_hello: 'The connection was not set up correctly.',
  internal: 'The server had a problem.',
  rate_limited: 'Slow down: that was too much at once.',
  server_busy: 'The server is busy right now; try again in a minute.',
  store_unavailable: 'The server could not save that, so it was not added to the board.',
  room_locked: 'This board is locked: you can look but not draw.',
  locked: "The board's owner locked it: you can look but not draw.",
  forbidden: "Only the board's owner can do that.",
  unknown_image: 'That image is not on this board any more; add it again.',
  bad_image: 'That file is not an image the board can show.',
  image_quota: 'This board has no room for more images.',
};
