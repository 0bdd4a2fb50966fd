// The Text tool: a click on the board places a text box there; typing shows a live preview drawn
// exactly as the server will draw it (render/text.js); Enter starts a new line, Escape cancels,
// and a click elsewhere (or leaving the box) or Ctrl/Cmd+Enter commits it as one `text` op. The
// typing happens in a transparent textarea laid over the preview inside the board (so it zooms
// and pans with it, and keyboards, IMEs and phones work as in any text field); only its caret and
// outline show.

import * as proto from '../net/protocol.js';
import { FONT_FAMILY, loadTextFont, textBox } from '../render/text.js';

/** Text ids start here so they never meet the pen's stroke and shape ids in the live layer. */
const FIRST_ID = 0x40000000;
/** The server's limit (`max_text_chars`). */
export const MAX_TEXT_CHARS = 2000;
/** Text size for a toolbar width: four times the width, within the server's 6 to 512. */
export const textSize = (/** @type {number} */ width) => Math.min(512, Math.max(6, Math.round(width * 4)));

/**
 * @typedef {{
 *   board: import('../render/board.js').Board,
 *   send: (msg: object) => boolean,
 *   me: () => number | null,
 *   style: () => {color: string, size: number},
 * }} TextToolOptions
 */

export class TextTool {
  /** @type {TextToolOptions} */ #o;
  #nextId = FIRST_ID;
  /** The box being typed. @type {{id: number, key: string, item: import('../render/text.js').TextItem, area: HTMLTextAreaElement} | null} */
  #editing = null;

  /** @param {TextToolOptions} options */
  constructor(options) {
    this.#o = options;
    void loadTextFont();
    // Keys typed right after the click that opened a box, before the box took the focus, are
    // the box's: they must not reach the single-key shortcuts (H, E, L... would switch tools).
    window.addEventListener('keydown', (e) => this.#early(e), true);
  }

  /** @param {KeyboardEvent} e */
  #early(e) {
    const ed = this.#editing;
    if (!ed || e.target === ed.area || e.ctrlKey || e.metaKey || e.altKey) return;
    e.stopImmediatePropagation();
    if (e.key === 'Escape') {
      e.preventDefault();
      this.cancel();
      return;
    }
    // Focused during the key's keydown, the box gets the character itself.
    ed.area.focus();
  }

  /** Whether a text box is open. */
  get editing() {
    return this.#editing !== null;
  }

  /**
   * A press on the board with the Text tool: commits the open box, or opens one at (x, y).
   * @param {number} x canvas px
   * @param {number} y canvas px
   */
  press(x, y) {
    if (this.#editing) {
      this.commit();
      return;
    }
    const me = this.#o.me();
    if (me === null) return;
    const id = this.#nextId++;
    const { color, size } = this.#o.style();
    const item = /** @type {import('../render/text.js').TextItem} */ ({ kind: 'text', x, y, text: '', size, color });
    const area = document.createElement('textarea');
    area.className = 'text-editor';
    area.setAttribute('aria-label', 'Text: Enter for a new line, Ctrl+Enter to place it, Escape to cancel');
    area.maxLength = MAX_TEXT_CHARS;
    area.spellcheck = false;
    area.wrap = 'off';
    Object.assign(area.style, {
      left: `${x}px`,
      top: `${y}px`,
      fontFamily: FONT_FAMILY,
      fontSize: `${size}px`,
      caretColor: color.slice(0, 7),
    });
    // Presses inside the box place the caret; they are not presses on the board.
    area.addEventListener('pointerdown', (e) => e.stopPropagation());
    area.addEventListener('input', () => this.#changed());
    area.addEventListener('keydown', (e) => this.#key(e));
    area.addEventListener('blur', () => {
      // Leaving the box for another part of the page commits it; leaving the window does not.
      if (document.hasFocus()) this.commit();
    });
    this.#editing = { id, key: `${me}:${id}`, item, area };
    this.#o.board.element.append(area);
    this.#o.board.begin(this.#editing.key, item);
    this.#fit();
    // After the press that opened it has finished moving focus.
    setTimeout(() => area.focus(), 0);
  }

  /** @param {KeyboardEvent} e */
  #key(e) {
    e.stopPropagation();
    if (e.key === 'Escape') {
      e.preventDefault();
      this.cancel();
    } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      this.commit();
    }
  }

  #changed() {
    const ed = this.#editing;
    if (!ed) return;
    // One kind of line break, and no tabs (the font draws neither).
    const text = ed.area.value.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
    ed.item = { ...ed.item, text };
    this.#o.board.update(ed.key, ed.item);
    this.#fit();
  }

  /** Sizes the box to its text (plus room for the next character). */
  #fit() {
    const ed = this.#editing;
    if (!ed) return;
    const box = textBox(ed.item);
    ed.area.style.lineHeight = `${box.lineHeight}px`;
    ed.area.style.width = `${box.width + ed.item.size}px`;
    ed.area.style.height = `${Math.max(box.height, box.lineHeight)}px`;
  }

  /** Sends the open box's text as a `text` op (an empty box just closes). */
  commit() {
    const ed = this.#close();
    if (!ed) return;
    const { x, y, text, size, color } = ed.item;
    if (text.trim() === '' || !this.#o.send(proto.text(ed.id, x, y, text, size, color))) {
      this.#o.board.drop(ed.key);
      return;
    }
    // The preview stays until the commit moves it into the picture (room.js).
    this.#o.board.end(ed.key);
  }

  /** Closes the open box without sending anything. */
  cancel() {
    const ed = this.#close();
    if (ed) this.#o.board.drop(ed.key);
  }

  #close() {
    const ed = this.#editing;
    if (!ed) return null;
    this.#editing = null;
    ed.area.remove();
    return ed;
  }
}
