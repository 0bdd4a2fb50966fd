// The geometry of an image being placed, in canvas pixels: its first size, a corner drag that
// keeps the aspect ratio, and the limits that keep it on the board and within what the server
// takes in one op.

/** Smallest side an image may be resized to, in canvas pixels. */
export const MIN_SIDE = 8;
/** Most pixels one image op may cover (the server's default `max_image_pixels`). */
export const MAX_PIXELS = 4096 * 4096;

/** @typedef {{x: number, y: number, width: number, height: number}} Frame */

/**
 * The widest an image of this aspect ratio may be: no side over the board's, and no more pixels
 * than the server takes in one op.
 * @param {number} aspect width / height
 * @param {{width: number, height: number}} board
 */
export function maxWidth(aspect, board) {
  return Math.min(board.width, board.height * aspect, Math.sqrt(MAX_PIXELS * aspect));
}

/**
 * The natural size, shrunk to fit 80% of the visible part of the board (and its limits).
 * @param {{width: number, height: number}} natural
 * @param {{width: number, height: number}} view the visible part, in canvas pixels
 * @param {{width: number, height: number}} board
 */
export function firstSize(natural, view, board) {
  const aspect = natural.width / natural.height;
  const fit = Math.min(1, (view.width * 0.8) / natural.width, (view.height * 0.8) / natural.height);
  const width = Math.max(MIN_SIDE, Math.min(natural.width * fit, maxWidth(aspect, board)));
  return { width, height: width / aspect };
}

/**
 * The frame after dragging `corner` (`nw`, `ne`, `sw` or `se`) of `start` to (mx, my): the
 * aspect ratio stays, and so does the opposite corner.
 * @param {Frame} start
 * @param {string} corner
 * @param {number} mx
 * @param {number} my
 * @param {{width: number, height: number}} board
 * @returns {Frame}
 */
export function resized(start, corner, mx, my, board) {
  const west = corner.includes('w');
  const north = corner.includes('n');
  const ax = west ? start.x + start.width : start.x;
  const ay = north ? start.y + start.height : start.y;
  const k = Math.max(Math.abs(mx - ax) / start.width, Math.abs(my - ay) / start.height);
  const aspect = start.width / start.height;
  const width = Math.min(maxWidth(aspect, board), Math.max(MIN_SIDE, MIN_SIDE * aspect, start.width * k));
  const height = width / aspect;
  return { x: west ? ax - width : ax, y: north ? ay - height : ay, width, height };
}

/**
 * Moves a frame so that at least a pixel of it stays on the board.
 * @param {Frame} f
 * @param {{width: number, height: number}} board
 */
export function keptOnBoard(f, board) {
  f.x = Math.min(board.width - 1, Math.max(1 - f.width, f.x));
  f.y = Math.min(board.height - 1, Math.max(1 - f.height, f.y));
}
