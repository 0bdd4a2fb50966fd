// Two-finger touch gestures on the stage: pinch to zoom and drag to pan, at the same time, like
// drawing apps. One finger is left to the pen (it draws); a second finger turns the touch into a
// gesture. Listens in the capture phase so the pen never sees the gesture's pointers.

/**
 * @param {HTMLElement} stage
 * @param {import('../render/board.js').Board} board
 * @param {{ignore: () => boolean, onStart: () => void}} hooks `ignore`: touches are palms now
 *   (a pen is down); `onStart`: a gesture begins (cancel the one-finger stroke)
 */
export function listenForGestures(stage, board, hooks) {
  /** Touch pointers down on the stage, by id. @type {Map<number, {x: number, y: number}>} */
  const touches = new Map();
  /** The centroid and spread of the first two touches at the last move. */
  /** @type {{x: number, y: number, d: number} | null} */
  let last = null;

  const measure = () => {
    const [a, b] = [...touches.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: Math.max(1, Math.hypot(a.x - b.x, a.y - b.y)) };
  };

  stage.addEventListener('pointerdown', (e) => {
    if (e.pointerType !== 'touch') return;
    if (hooks.ignore()) {
      e.stopPropagation();
      return;
    }
    touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (touches.size < 2) return;
    e.stopPropagation();
    e.preventDefault();
    if (touches.size === 2) {
      hooks.onStart();
      board.panning = true;
      last = measure();
    }
  }, { capture: true });

  stage.addEventListener('pointermove', (e) => {
    const t = touches.get(e.pointerId);
    if (!t) return;
    t.x = e.clientX;
    t.y = e.clientY;
    if (!last || touches.size < 2) return;
    e.stopPropagation();
    const now = measure();
    board.zoomAt(now.d / last.d, now.x, now.y);
    board.panBy(now.x - last.x, now.y - last.y);
    last = now;
  }, { capture: true });

  const end = (/** @type {PointerEvent} */ e) => {
    if (!touches.delete(e.pointerId)) return;
    if (last) e.stopPropagation();
    // Zooming needs two fingers; the gesture (and no drawing) lasts until the last one lifts.
    if (touches.size >= 2) last = measure();
    if (touches.size === 0 && last) {
      last = null;
      board.panning = false;
    }
  };
  stage.addEventListener('pointerup', end, { capture: true });
  stage.addEventListener('pointercancel', end, { capture: true });
}
