// Touch taps on buttons act on the finger's lift, not on the browser's click. Chromium drops the
// click of a tap that lands right after a finger stroke on the board (it takes the tap for one
// that stops a fling), so a toolbar tap within about 0.1 s of a stroke was lost. Here a touch
// that goes down and up on the same button presses it at once, and the click that may follow is
// ignored; mouse, pen and keyboard keep their ordinary clicks.

/** How far a finger may move between down and up and still tap (CSS px). */
const SLOP = 12;
/** How long after a tap its own click may still arrive (ms). */
const CLICK_WINDOW = 800;

/** The control a touch pressed (what a click on `el` would press). @param {EventTarget | null} el */
function pressable(el) {
  if (!(el instanceof Element)) return null;
  const hit = el.closest('button, input[type=checkbox], input[type=radio], label');
  if (hit instanceof HTMLLabelElement) {
    const control = hit.control;
    return control instanceof HTMLInputElement && (control.type === 'checkbox' || control.type === 'radio') ? hit : null;
  }
  if (hit instanceof HTMLButtonElement && hit.disabled) return null;
  if (hit instanceof HTMLInputElement && hit.disabled) return null;
  return hit;
}

/**
 * Makes touch taps on the buttons, checkboxes and their labels under `root` press at once.
 * @param {HTMLElement} root
 */
export function fastTaps(root) {
  /** @type {{id: number, el: Element, x: number, y: number} | null} */
  let down = null;
  /** The last tap: its pointer, the control it pressed, and until when its click is ignored. */
  /** @type {{id: number, el: Element, until: number} | null} */
  let pressed = null;

  root.addEventListener('pointerdown', (e) => {
    if (e.pointerType !== 'touch' || !e.isPrimary) return;
    const el = pressable(e.target);
    down = el ? { id: e.pointerId, el, x: e.clientX, y: e.clientY } : null;
  });
  root.addEventListener('pointercancel', () => {
    down = null;
  });
  root.addEventListener('pointerup', (e) => {
    const d = down;
    down = null;
    if (!d || e.pointerId !== d.id || Math.hypot(e.clientX - d.x, e.clientY - d.y) > SLOP) return;
    // The lift may land on another element (the finger slid): it must still be the same control.
    if (pressable(document.elementFromPoint(e.clientX, e.clientY)) !== d.el) return;
    pressed = { id: d.id, el: d.el, until: performance.now() + CLICK_WINDOW };
    if (d.el instanceof HTMLElement) {
      d.el.focus({ preventScroll: true });
      d.el.click();
    }
  });
  // The browser's own click for the tap, if it comes, wherever it lands (the tap may have
  // opened a dialog over the control).
  window.addEventListener('click', (e) => {
    const p = pressed;
    if (!e.isTrusted || !p || performance.now() > p.until) return;
    const id = /** @type {PointerEvent} */ (e).pointerId;
    const el = pressable(e.target);
    const same = typeof id === 'number' && id > 0
      ? id === p.id
      : el === p.el || (p.el instanceof HTMLLabelElement && p.el.control === el);
    if (!same) return;
    pressed = null;
    e.preventDefault();
    e.stopImmediatePropagation();
  }, { capture: true });
}
