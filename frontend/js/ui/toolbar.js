// The drawing toolbar: tools, color swatches and a custom color, the width with a live preview,
// undo, redo and clear, with keyboard shortcuts.

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
  color = PALETTE[0];
  width = 6;
  fillShapes = false;
  /** @type {HTMLElement} */ #root;
  /** @type {HTMLElement} */ #preview;
  /** @type {HTMLInputElement} */ #custom;
  /** @type {HTMLInputElement} */ #width;

  /**
   * @param {HTMLElement} root the toolbar element
   * @param {ToolbarActions} actions
   */
  constructor(root, actions) {
    this.#root = root;
    for (const b of root.querySelectorAll('.tool[data-tool]')) {
      b.addEventListener('click', () => this.setTool(/** @type {HTMLElement} */ (b).dataset.tool ?? 'pen'));
    }
    const swatches = /** @type {HTMLElement} */ (root.querySelector('.swatches'));
    for (const color of PALETTE) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'swatch';
      b.dataset.color = color;
      b.style.setProperty('--swatch', color);
      b.setAttribute('aria-label', `Color ${color}`);
      b.addEventListener('click', () => this.setColor(color));
      swatches.append(b);
    }
    this.#custom = /** @type {HTMLInputElement} */ (root.querySelector('#color-custom'));
    this.#custom.addEventListener('input', () => this.setColor(this.#custom.value));
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

  /** @param {string} color */
  setColor(color) {
    this.color = color;
    if (/^#[0-9a-f]{6}$/i.test(color)) this.#custom.value = color;
    this.#update();
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
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.color === this.color));
    }
    this.#preview.style.setProperty('--size', `${Math.min(40, this.width)}px`);
    this.#preview.style.setProperty('--color', this.color);
    const label = this.#root.querySelector('.width-value');
    if (label) label.textContent = `${this.width}px`;
  }
}
