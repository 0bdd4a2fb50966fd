// The drawing toolbar: color swatches, a custom color, and the width with a live preview.

const PALETTE = ['#1f1f1f', '#e03131', '#f08c00', '#2f9e44', '#1971c2', '#7048e8', '#e64980', '#ffffff'];

export class Toolbar {
  color = PALETTE[0];
  width = 6;
  /** @type {HTMLElement} */ #root;
  /** @type {HTMLElement} */ #preview;
  /** @type {HTMLInputElement} */ #custom;

  /** @param {HTMLElement} root the toolbar element */
  constructor(root) {
    this.#root = root;
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
    const custom = /** @type {HTMLInputElement} */ (root.querySelector('#color-custom'));
    this.#custom = custom;
    custom.addEventListener('input', () => this.setColor(custom.value));
    const width = /** @type {HTMLInputElement} */ (root.querySelector('#width'));
    this.#preview = /** @type {HTMLElement} */ (root.querySelector('.width-preview'));
    width.addEventListener('input', () => {
      this.width = Number(width.value);
      this.#update();
    });
    this.width = Number(width.value);
    this.#update();
  }

  /** @param {string} color */
  setColor(color) {
    this.color = color;
    if (/^#[0-9a-f]{6}$/i.test(color)) this.#custom.value = color;
    this.#update();
  }

  #update() {
    for (const b of this.#root.querySelectorAll('.swatch')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.color === this.color));
    }
    this.#preview.style.setProperty('--size', `${Math.min(40, this.width)}px`);
    this.#preview.style.setProperty('--color', this.color);
    const label = this.#root.querySelector('.width-value');
    if (label) label.textContent = `${this.width}px`;
  }
}
