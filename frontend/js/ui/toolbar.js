// The drawing toolbar: tools, color swatches, recent colors and a custom color, width and
// opacity with a live preview, undo, redo and clear, with keyboard shortcuts.

import { dialogOpen } from './dialogs.js';
import { HIGHLIGHTER_ALPHA } from '../render/stroke.js';

const RECENT_KEY = 'inkroom.recentColors';
const MAX_RECENT = 8;

const PALETTE = ['#1f1f1f', '#e03131', '#f08c00', '#2f9e44', '#1971c2', '#7048e8', '#e64980', '#ffffff'];

/** Tool ids with their shortcut keys. */
export const TOOLS = /** @type {const} */ ({
  pen: 'b', highlighter: 'h', eraser: 'e', line: 'l', rect: 'r', ellipse: 'o', fill: 'f',
});

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
  /** @type {HTMLElement} */ #root;
  /** @type {HTMLElement} */ #preview;
  /** @type {HTMLInputElement} */ #custom;
  /** @type {HTMLInputElement} */ #width;
  /** @type {HTMLInputElement} */ #opacity;
  /** @type {HTMLElement} */ #recent;

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
    root.querySelector('#clear')?.addEventListener('click', actions.onClear);
    window.addEventListener('keydown', (e) => this.#key(e, actions));
    this.width = Number(this.#width.value);
    this.#update();
  }

  /** @param {string} tool */
  setTool(tool) {
    this.tool = tool;
    this.#update();
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
    if (dialogOpen()) return;
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
      const step = Math.max(1, Math.round(this.width * 0.2));
      this.width = Math.min(64, Math.max(1, this.width + (e.key === ']' ? step : -step)));
      this.#width.value = String(this.width);
      this.#update();
      return;
    }
    const tool = Object.entries(TOOLS).find(([, key]) => key === k);
    if (tool) this.setTool(tool[0]);
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
    const label = this.#root.querySelector('.width-value');
    if (label) label.textContent = `${this.width}px`;
    const opacity = this.#root.querySelector('.opacity-value');
    if (opacity) opacity.textContent = `${Math.round(this.opacity * 100)}%`;
  }
}
