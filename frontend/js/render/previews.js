// Others' shapes being dragged (`shape_preview`), drawn on the board's live layer in their own
// color until they end: on a cancel, when the author leaves or the room stops taking drawing, or
// once the committed shape is on screen (the tiles covering its commit arrived; drawing the
// preview until then avoids a flicker between the commit and its tiles).

/** If no tiles come for a committed shape (it lies off the canvas), its preview goes anyway. */
const COMMITTED_MAX_MS = 3000;
/** Tiles of one round arrive back to back: a pause this long (ms) ends the round. */
const ROUND_GAP_MS = 40;

export class Previews {
  /** @type {import('./board.js').Board} */ #board;
  /** Previews by author. @type {Set<number>} */
  #shown = new Set();
  /** Committed previews waiting for their tiles: author → seq. @type {Map<number, number>} */
  #waiting = new Map();
  /** The highest seq the received tiles cover. */
  #tilesSeq = -1;
  /** The seq of the tiles arriving now, and the wait for the end of their round. */
  #roundSeq = -1;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #roundTimer;

  /** @param {import('./board.js').Board} board */
  constructor(board) {
    this.#board = board;
  }

  /** @param {number} author */
  #key(author) {
    // Under the author's prefix, so that the board's dropAuthor drops it too.
    return `${author}:preview`;
  }

  /** A `shape_preview` from the server. @param {any} msg */
  received(msg) {
    if (typeof msg.author !== 'number') return;
    if (msg.cancel) {
      this.drop(msg.author);
      return;
    }
    const shape = msg.shape;
    if (shape !== 'line' && shape !== 'rect' && shape !== 'ellipse') return;
    const nums = [msg.x0, msg.y0, msg.x1, msg.y1, msg.width];
    if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n)) || typeof msg.color !== 'string') return;
    this.#waiting.delete(msg.author);
    this.#shown.add(msg.author);
    this.#board.update(this.#key(msg.author), {
      kind: 'shape', shape, x0: msg.x0, y0: msg.y0, x1: msg.x1, y1: msg.y1, color: msg.color, width: msg.width, fill: Boolean(msg.fill),
    });
  }

  /**
   * The author's shape was committed at `seq`: its preview stays until tiles covering `seq`
   * are on screen.
   * @param {number} author
   * @param {number} seq
   */
  committed(author, seq) {
    if (!this.#shown.has(author)) return;
    if (this.#tilesSeq >= seq) {
      this.drop(author);
      return;
    }
    this.#waiting.set(author, seq);
    setTimeout(() => {
      if (this.#waiting.get(author) === seq) this.drop(author);
    }, COMMITTED_MAX_MS);
  }

  /**
   * A tile at `seq` arrived. The rest of its round follows at once: once tiles stop coming for
   * a moment, the round is on screen.
   * @param {number} seq
   */
  tile(seq) {
    this.#roundSeq = Math.max(this.#roundSeq, seq);
    clearTimeout(this.#roundTimer);
    this.#roundTimer = setTimeout(() => this.tilesUpTo(this.#roundSeq), ROUND_GAP_MS);
  }

  /** Tiles covering every op up to `seq` are on screen. @param {number} seq */
  tilesUpTo(seq) {
    this.#tilesSeq = Math.max(this.#tilesSeq, seq);
    for (const [author, s] of this.#waiting) if (s <= seq) this.drop(author);
  }

  /** @param {number} author */
  drop(author) {
    this.#waiting.delete(author);
    if (this.#shown.delete(author)) this.#board.drop(this.#key(author));
  }

  /** Every preview ends (the room stopped taking drawing; a fresh canvas). */
  dropAll() {
    for (const author of [...this.#shown]) this.drop(author);
    this.#tilesSeq = -1;
    this.#roundSeq = -1;
  }
}
