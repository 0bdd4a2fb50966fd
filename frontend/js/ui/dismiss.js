// Light dismiss for the drawer, the tool sheet and menus: a press outside an open panel closes
// it and does nothing else. That press is swallowed whole (down, moves, up and its click), so a
// tap on the board that closes the people drawer never draws a dot for everyone.

/**
 * @typedef {{isOpen: () => boolean, inside: () => Array<Element | null>, close: () => void}} Dismissable
 * `inside`: the panel and the buttons that toggle it (they handle their own presses)
 */

/** @type {Dismissable[]} */
const panels = [];
/** The pointer of a swallowed press, until it lifts. @type {number | null} */
let swallowing = null;
/** The click that follows a swallowed press is swallowed too, until then (ms). */
let clickUntil = 0;

/** @param {Event} e */
function swallow(e) {
  e.preventDefault();
  e.stopImmediatePropagation();
}

/** @param {PointerEvent} e */
function onDown(e) {
  const target = /** @type {Node} */ (e.target);
  const open = panels.filter((p) => p.isOpen());
  const outside = open.filter((p) => !p.inside().some((el) => el?.contains(target)));
  if (outside.length === 0) return;
  for (const p of outside) p.close();
  swallowing = e.pointerId;
  swallow(e);
}

/** @param {PointerEvent} e */
function onPointer(e) {
  if (e.pointerId !== swallowing) return;
  swallow(e);
  if (e.type === 'pointerup' || e.type === 'pointercancel') {
    swallowing = null;
    clickUntil = performance.now() + 700;
  }
}

/** @param {MouseEvent} e */
function onClick(e) {
  if (performance.now() > clickUntil) return;
  clickUntil = 0;
  swallow(e);
}

/**
 * Closes a panel on a press outside it.
 * @param {Dismissable} panel
 */
export function dismissOnOutsidePress(panel) {
  if (panels.length === 0) {
    window.addEventListener('pointerdown', onDown, { capture: true });
    for (const type of ['pointermove', 'pointerup', 'pointercancel']) {
      window.addEventListener(type, (e) => onPointer(/** @type {PointerEvent} */ (e)), { capture: true });
    }
    window.addEventListener('click', onClick, { capture: true });
  }
  panels.push(panel);
}
