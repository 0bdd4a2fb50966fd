// Moving the view with a mouse, a trackpad and the keyboard: the wheel and two-finger trackpad
// scrolling pan (sideways too), Ctrl/Cmd + wheel and trackpad pinches zoom in small steps, and a
// drag pans with the middle button, with Space held, or with any button where dragging does not
// draw (`board.dragPans`). Touch gestures are in gestures.js.
//
// Space pans whatever has the focus, except a text field or an open dialog. Held for panning it
// never activates the focused button or checkbox; tapped on its own, it still does (as Space
// always does for keyboard users).

import { dialogOpen } from './dialogs.js';

/** Largest zoom step one wheel event makes (a notch of a mouse wheel): 15%. */
const MAX_WHEEL_STEP = Math.log(1.15);
/** Zoom per pixel of a Ctrl + wheel delta (a pinch on a trackpad sends small deltas). */
const WHEEL_ZOOM = 0.01;
/** A Space held longer than this is a hold, not a tap (it does not activate the focus). */
const SPACE_TAP_MS = 500;

/**
 * Whether Space typed into this element belongs to it: text fields and selects.
 * @param {EventTarget | null} el
 */
export function takesText(el) {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (!(el instanceof HTMLInputElement)) return false;
  return !['button', 'checkbox', 'radio', 'range', 'color', 'submit', 'reset', 'image', 'file'].includes(el.type);
}

/**
 * @param {HTMLElement} stage
 * @param {import('../render/board.js').Board} board
 * @returns {{cancelDrag: () => void, spaceHeld: () => boolean}} `cancelDrag`: a drag of the view
 *   ends without ending `board.panning` (a two-finger gesture takes over)
 */
export function listenForPan(stage, board) {
  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? stage.clientHeight : 1;
    if (e.ctrlKey || e.metaKey) {
      const step = Math.max(-MAX_WHEEL_STEP, Math.min(MAX_WHEEL_STEP, -e.deltaY * unit * WHEEL_ZOOM));
      board.zoomAt(Math.exp(step), e.clientX, e.clientY);
      return;
    }
    let dx = e.deltaX * unit;
    let dy = e.deltaY * unit;
    // Shift + a plain wheel scrolls sideways.
    if (e.shiftKey && dx === 0) [dx, dy] = [dy, 0];
    board.panBy(-dx, -dy);
  }, { passive: false });

  /** Space is held: since when, what had the focus, and whether it moved the view. */
  /** @type {{since: number, focus: Element | null, panned: boolean} | null} */
  let space = null;
  window.addEventListener('keydown', (e) => {
    if (e.code !== 'Space' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (dialogOpen() || takesText(e.target)) return;
    // Not the focused control's Space: no click on release, no page scroll.
    e.preventDefault();
    if (space) return;
    space = { since: performance.now(), focus: document.activeElement, panned: false };
    stage.classList.add('can-pan');
  });
  window.addEventListener('keyup', (e) => {
    if (e.code !== 'Space' || !space) return;
    e.preventDefault();
    const { since, focus, panned } = space;
    space = null;
    stage.classList.remove('can-pan');
    // A tap of Space on a button or checkbox, without panning, still presses it.
    const tap = !panned && performance.now() - since < SPACE_TAP_MS;
    const pressable = focus instanceof HTMLButtonElement
      || (focus instanceof HTMLInputElement && ['checkbox', 'radio', 'color', 'button'].includes(focus.type));
    if (tap && pressable && document.activeElement === focus && !dialogOpen()) /** @type {HTMLElement} */ (focus).click();
  });
  // Focus left the page with Space down: its keyup will never come.
  window.addEventListener('blur', () => {
    space = null;
    stage.classList.remove('can-pan');
  });

  /** A drag of the view in progress. @type {{id: number, x: number, y: number} | null} */
  let drag = null;
  stage.addEventListener('pointerdown', (e) => {
    if (drag || !(e.button === 1 || (e.button === 0 && (space || board.dragPans)))) return;
    e.preventDefault();
    e.stopPropagation();
    if (space) space.panned = true;
    drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
    board.panning = true;
    stage.setPointerCapture(e.pointerId);
  }, { capture: true });
  stage.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    board.panBy(dx, dy);
  });
  const end = (/** @type {PointerEvent} */ e) => {
    if (drag && e.pointerId === drag.id) {
      drag = null;
      board.panning = false;
    }
  };
  stage.addEventListener('pointerup', end);
  stage.addEventListener('pointercancel', end);
  return {
    cancelDrag: () => {
      drag = null;
    },
    spaceHeld: () => space !== null,
  };
}
