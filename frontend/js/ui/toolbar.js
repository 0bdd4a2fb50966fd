// The drawing toolbar: tools, color swatches, recent colors and a custom color, width and
// opacity with a live preview, undo, redo and clear, with keyboard shortcuts. On a phone it is a
// dock (tools; color, width, undo, redo) with the rest in a sheet that slides up (`openSheet`).
// A single-key shortcut shows that it fired: the tool's button flashes, and the first one on the
// page explains itself in a toast.

import { dialogOpen } from './dialogs.js';
import { toast } from './toast.js';
import { HIGHLIGHTER_ALPHA } from '../render/stroke.js';

const RECENT_KEY = 'inkroom.recentColors';
const MAX_RECENT = 8;

const PALETTE = ['#1f1f1f', '#e03131', '#f08c00', '#2f9e44', '#1971c2', '#7048e8', '#e64980', '#ffffff'];

/** Tool ids with their shortcut keys. */
export const TOOLS = /** @type {const} */ ({
  pen: 'b', highlighter: 'h', eraser: 'e', line: 'l', rect: 'r', ellipse: 'o', fill: 'f',
  select: 'v',
  text: 't',
});

/** Tool names as the shortcut toast says them. */
const TOOL_NAMES = /** @type {const} */ ({
  pen: 'Pen', highlighter: 'Highlighter', eraser: 'Eraser', line: 'Line', rect: 'Rectangle', ellipse: 'Ellipse', fill: 'Fill',
  select: 'Select',
  text: 'Text',
});

/** The widths `[` and `]` step through: even steps to the eye, and back where they started. */
export const WIDTH_STEPS = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64];

/**
 * The next width up (`dir` 1) or down (-1) from `width` among WIDTH_STEPS.
 * @param {number} width
 * @param {1 | -1} dir
 */
export function stepWidth(width, dir) {
  const next = dir > 0 ? WIDTH_STEPS.find((w) => w > width) : [...WIDTH_STEPS].reverse().find((w) => w < width);
  return next ?? width;
}

/**
 * @typedef {{onUndo: () => void, onRedo: () => void, onClear: () => void}} ToolbarActions
 */

export class Toolbar {
  /** @type {string} */ tool = 'pen';
  /** The chosen color without opacity, `#rrggbb`. */
  baseColor = PALETTE[0];
  /** Opacity, 0.1 to 1. */
  opacity = 1;
  width = 6;
  fillShapes = false;
  /** Called after the tool changes (the Select tool lets go of its selection). */
  onTool = () => {};
  /** @type {HTMLElement} */ #root;
  /** @type {HTMLElement} */ #preview;
  /** @type {HTMLInputElement} */ #custom;
  /** @type {HTMLInputElement} */ #width;
  /** @type {HTMLInputElement} */ #opacity;
  /** @type {HTMLElement} */ #recent;
  /** @type {HTMLElement} */ #colorNow;
  /** A shortcut has fired on this page (the first one shows a toast). */
  #shortcutSeen = false;
  /** That toast, kept up to date while it shows. @type {HTMLElement | null} */
  #shortcutToast = null;

  /**
   * @param {HTMLElement} root the toolbar element
   * @param {ToolbarActions} actions
   */
  constructor(root, actions) {
    this.#root = root;
    for (const b of root.querySelectorAll('.tool[data-tool]')) {
      b.addEventListener('click', () => this.setTool(/** @type {HTMLElement} */ (b).dataset.tool ?? 'pen'));
    }
    const swatches = /** @type {HTMLElement} */ (root.querySelector('.palette'));
    for (const color of PALETTE) swatches.append(this.#swatch(color));
    this.#recent = /** @type {HTMLElement} */ (root.querySelector('.recent-colors'));
    this.#showRecent();
    this.#custom = /** @type {HTMLInputElement} */ (root.querySelector('#color-custom'));
    this.#custom.addEventListener('input', () => this.setColor(this.#custom.value));
    // A color picked in the custom picker is remembered once the picker closes.
    this.#custom.addEventListener('change', () => this.#remember(this.#custom.value));
    this.#opacity = /** @type {HTMLInputElement} */ (root.querySelector('#opacity'));
    this.#opacity.addEventListener('input', () => {
      this.opacity = Number(this.#opacity.value) / 100;
      this.#update();
    });
    this.#width = /** @type {HTMLInputElement} */ (root.querySelector('#width'));
    this.#preview = /** @type {HTMLElement} */ (root.querySelector('.width-preview'));
    this.#width.addEventListener('input', () => {
      this.width = Number(this.#width.value);
      this.#update();
    });
    const fill = /** @type {HTMLInputElement} */ (root.querySelector('#fill-shapes'));
    fill.addEventListener('change', () => { this.fillShapes = fill.checked; });
    root.querySelector('#undo')?.addEventListener('click', actions.onUndo);
    root.querySelector('#redo')?.addEventListener('click', actions.onRedo);
    root.querySelector('#clear')?.addEventListener('click', () => {
      this.openSheet(false);
      actions.onClear();
    });
    this.#colorNow = /** @type {HTMLElement} */ (root.querySelector('#color-now'));
    for (const b of root.querySelectorAll('#more, #color-now')) {
      b.addEventListener('click', () => this.openSheet(!this.sheetOpen));
    }
    window.addEventListener('keydown', (e) => this.#key(e, actions));
    this.width = Number(this.#width.value);
    this.#update();
  }

  /** @param {string} tool */
  setTool(tool) {
    this.tool = tool;
    this.#update();
    this.onTool();
  }

  /** Whether the sheet (the phone's "more" panel) is open. */
  get sheetOpen() {
    return this.#root.classList.contains('sheet-open');
  }

  /** Opens or closes the sheet. @param {boolean} open */
  openSheet(open) {
    this.#root.classList.toggle('sheet-open', open);
    for (const b of this.#root.querySelectorAll('#more, #color-now')) b.setAttribute('aria-expanded', String(open));
  }

  /**
   * A shortcut chose a tool: its button flashes, and the first shortcut of the page says what
   * happened and how to see the others.
   * @param {string} tool
   * @param {string} key
   */
  #shortcutFired(tool, key) {
    const button = this.#root.querySelector(`.tool[data-tool="${tool}"]`);
    if (button) {
      button.classList.remove('flash');
      // Restart the animation when the same button flashes again.
      void (/** @type {HTMLElement} */ (button).offsetWidth);
      button.classList.add('flash');
      button.addEventListener('animationend', () => button.classList.remove('flash'), { once: true });
    }
    const name = TOOL_NAMES[/** @type {keyof typeof TOOL_NAMES} */ (tool)] ?? tool;
    const text = `${name} (${key.toUpperCase()}): single keys switch tools. Press ? to see them all.`;
    // While the first shortcut's toast shows, it names the tool chosen last.
    if (this.#shortcutToast?.isConnected) this.#shortcutToast.textContent = text;
    if (this.#shortcutSeen) return;
    this.#shortcutSeen = true;
    this.#shortcutToast = toast(text);
  }

  /** The color to draw with: `#rrggbb`, or `#rrggbbaa` when translucent. */
  get color() {
    if (this.opacity >= 1) return this.baseColor;
    const alpha = Math.round(Math.min(1, Math.max(0, this.opacity)) * 255);
    return this.baseColor + alpha.toString(16).padStart(2, '0');
  }

  /** @param {string} color `#rrggbb` */
  setColor(color) {
    if (!/^#[0-9a-f]{6}$/i.test(color)) return;
    this.baseColor = color.toLowerCase();
    this.#custom.value = this.baseColor;
    this.#update();
  }

  /** @param {string} color */
  #swatch(color) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'swatch';
    b.dataset.color = color;
    b.style.setProperty('--swatch', color);
    b.setAttribute('aria-label', `Color ${color}`);
    b.title = color;
    b.addEventListener('click', () => this.setColor(color));
    return b;
  }

  /** Colors picked in the custom picker, newest first (palette colors are not repeated). */
  recentColors() {
    try {
      const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
      if (!Array.isArray(list)) return [];
      return list.filter((c) => typeof c === 'string' && /^#[0-9a-f]{6}$/.test(c)).slice(0, MAX_RECENT);
    } catch {
      return [];
    }
  }

  /** @param {string} color */
  #remember(color) {
    const c = color.toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(c) || PALETTE.includes(c)) return;
    const list = [c, ...this.recentColors().filter((x) => x !== c)].slice(0, MAX_RECENT);
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
    this.#showRecent();
    this.#update();
  }

  #showRecent() {
    const list = this.recentColors();
    this.#recent.replaceChildren(...list.map((c) => this.#swatch(c)));
    this.#recent.hidden = list.length === 0;
    const label = /** @type {HTMLElement | null} */ (this.#root.querySelector('.recent-label'));
    if (label) label.hidden = list.length === 0;
  }

  /** Enables or disables the undo and redo buttons. @param {boolean} canUndo @param {boolean} canRedo */
  setHistory(canUndo, canRedo) {
    const undo = /** @type {HTMLButtonElement | null} */ (this.#root.querySelector('#undo'));
    const redo = /** @type {HTMLButtonElement | null} */ (this.#root.querySelector('#redo'));
    if (undo) undo.disabled = !canUndo;
    if (redo) redo.disabled = !canRedo;
  }

  /**
   * @param {KeyboardEvent} e
   * @param {ToolbarActions} actions
   */
  #key(e, actions) {
    const target = /** @type {HTMLElement} */ (e.target);
    // No tools on this page now (a viewer, or a room that takes no drawing): no shortcuts.
    if (dialogOpen() || !this.#root.checkVisibility()) return;
    if (target.matches('input, textarea, select') && !target.matches('[type=range], [type=color]')) return;
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (mod && k === 'z') {
      e.preventDefault();
      if (e.shiftKey) actions.onRedo();
      else actions.onUndo();
      return;
    }
    if (mod && k === 'y') {
      e.preventDefault();
      actions.onRedo();
      return;
    }
    if (mod || e.altKey) return;
    if (e.key === '[' || e.key === ']') {
      this.width = stepWidth(this.width, e.key === ']' ? 1 : -1);
      this.#width.value = String(this.width);
      this.#update();
      return;
    }
    const tool = Object.entries(TOOLS).find(([, key]) => key === k);
    if (tool) {
      this.setTool(tool[0]);
      this.#shortcutFired(tool[0], k);
    }
  }

  #update() {
    for (const b of this.#root.querySelectorAll('.tool[data-tool]')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.tool === this.tool));
    }
    for (const b of this.#root.querySelectorAll('.swatch')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.color === this.baseColor));
    }
    // The preview shows the dot the current tool paints: its size, color and opacity.
    this.#preview.style.setProperty('--size', `${Math.min(40, this.width)}px`);
    this.#preview.style.setProperty('--color', this.tool === 'eraser' ? 'transparent' : this.baseColor);
    const alpha = this.tool === 'highlighter' ? this.opacity * HIGHLIGHTER_ALPHA : this.opacity;
    this.#preview.style.setProperty('--alpha', String(this.tool === 'eraser' ? 1 : alpha));
    this.#preview.classList.toggle('erasing', this.tool === 'eraser');
    this.#colorNow?.style.setProperty('--swatch', this.baseColor);
    this.#colorNow?.style.setProperty('--alpha', String(this.opacity));
    const label = this.#root.querySelector('.width-value');
    if (label) label.textContent = `${this.width}px`;
    const opacity = this.#root.querySelector('.opacity-value');
    if (opacity) opacity.textContent = `${Math.round(this.opacity * 100)}%`;
  }
}
