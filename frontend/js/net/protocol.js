// Mirrors docs/protocol.md: builders for every client message and a parser for binary frames.

/** Kind byte of a tile frame. */
export const FRAME_TILE = 1;
/** Flag bit: the tile is empty and no PNG follows. */
export const FLAG_EMPTY = 1;
/** Length of the binary frame header. */
export const HEADER_LEN = 16;

/**
 * @param {string} name
 * @param {string | null} key
 */
export const hello = (name, key) => (key ? { type: 'hello', name, key } : { type: 'hello', name });

/**
 * @param {number} stroke
 * @param {string} tool
 * @param {string} color
 * @param {number} width
 * @param {number[]} points
 */
export const strokeBegin = (stroke, tool, color, width, points) => ({
  type: 'stroke_begin', stroke, tool, color, width, points,
});

/** @param {number} stroke @param {number[]} points */
export const strokePoints = (stroke, points) => ({ type: 'stroke_points', stroke, points });

/** @param {number} stroke */
export const strokeEnd = (stroke) => ({ type: 'stroke_end', stroke });

/** @param {number} x @param {number} y */
export const cursor = (x, y) => ({ type: 'cursor', x, y });

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
  not_hello: 'The connection was not set up correctly.',
  internal: 'The server had a problem.',
};
