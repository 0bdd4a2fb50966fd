// Images on the board: a file pasted (Ctrl/Cmd+V), dropped on the board or chosen with the
// toolbar's Image button is uploaded (`POST /api/rooms/{id}/images`) and shown where it will
// land. It can be moved (drag it) and resized (drag a corner: the aspect ratio stays), and is
// placed with Enter or a press outside it (Escape cancels). Placing sends an `image` op; the
// picture stays on screen until the server's tiles with the committed image have arrived.

import { firstSize, keptOnBoard, resized } from './image-frame.js';

/** Image types the server takes. */
const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
/** A placed image whose tiles never come (it missed the canvas) goes after this long (ms). */
const PENDING_MAX_MS = 5000;
/** Tiles of one round arrive back to back: a pause this long (ms) ends the round. */
const ROUND_GAP_MS = 40;
/** Corners of the resize handles. */
const CORNERS = /** @type {const} */ (['nw', 'ne', 'sw', 'se']);

/**
 * @typedef {{
 *   board: import('../render/board.js').Board,
 *   stage: HTMLElement,
 *   roomId: string,
 *   key: () => string | null,
 *   canDraw: () => boolean,
 *   send: (msg: object) => boolean,
 *   nextId: () => number,
 *   onError: (text: string) => void,
 * }} ImageOptions
 */

/**
 * One image on its way: its element, where it is (canvas pixels), its natural size, and the
 * upload that gives its id.
 * @typedef {{
 *   el: HTMLElement, x: number, y: number, width: number, height: number,
 *   natural: {width: number, height: number}, url: string,
 *   upload: Promise<{image: string, width: number, height: number} | null>,
 *   id?: number, seq?: number,
 * }} Placing
 */

export class Images {
  /** @type {ImageOptions} */ #o;
  /** The image being moved and resized, if any. @type {Placing | null} */
  #placing = null;
  /** Placed images waiting for their commit and its tiles, by client id. @type {Map<number, Placing>} */
  #pending = new Map();
  /** The highest seq the received tiles cover. */
  #tilesSeq = -1;
  /** The seq of the tiles arriving now, and the wait for the end of their round. */
  #roundSeq = -1;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #roundTimer;
  /** @type {HTMLInputElement} */ #picker;

  /** @param {ImageOptions} options */
  constructor(options) {
    this.#o = options;
    this.#picker = document.createElement('input');
    this.#picker.type = 'file';
    this.#picker.accept = TYPES.join(',');
    this.#picker.hidden = true;
    this.#picker.addEventListener('change', () => {
      const file = this.#picker.files?.[0];
      this.#picker.value = '';
      if (file) this.add(file);
    });
    document.body.append(this.#picker);
    window.addEventListener('paste', (e) => this.#paste(e));
    options.stage.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    options.stage.addEventListener('drop', (e) => this.#drop(e));
    // A press outside the image places it (and draws nothing on the board).
    window.addEventListener('pointerdown', (e) => this.#pressOutside(e), true);
    window.addEventListener('keydown', (e) => this.#key(e), true);
  }

  /** Whether an image is being moved and resized now. */
  get placing() {
    return this.#placing !== null;
  }

  /** Opens the file chooser (the toolbar's Image button). */
  choose() {
    if (!this.#o.canDraw()) {
      this.#o.onError('You cannot add images here.');
      return;
    }
    this.#picker.click();
  }

  /**
   * Uploads an image file and shows it for placing, centred on (clientX, clientY) or on the
   * middle of what the board shows.
   * @param {Blob} file
   * @param {{clientX: number, clientY: number}} [at]
   */
  async add(file, at) {
    if (!this.#o.canDraw()) {
      this.#o.onError('You cannot add images here.');
      return;
    }
    if (!TYPES.includes(file.type)) {
      this.#o.onError('Only PNG, JPEG, GIF and WebP images can be added.');
      return;
    }
    if (this.#placing) this.place();
    const url = URL.createObjectURL(file);
    const natural = await naturalSize(url);
    if (!natural) {
      URL.revokeObjectURL(url);
      this.#o.onError('This image cannot be read.');
      return;
    }
    const upload = this.#upload(file);
    const [cx, cy] = at ? this.#o.board.toCanvas(at.clientX, at.clientY) : this.#viewCentre();
    const { width, height } = firstSize(natural, this.#o.board.visibleRect(), this.#o.board);
    const el = document.createElement('div');
    el.className = 'image-placer';
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', 'Image: drag to move, drag a corner to resize, Enter to place, Escape to cancel');
    el.tabIndex = -1;
    const img = document.createElement('img');
    img.src = url;
    img.alt = '';
    img.draggable = false;
    el.append(img);
    for (const corner of CORNERS) {
      const h = document.createElement('span');
      h.className = 'image-handle';
      h.dataset.corner = corner;
      el.append(h);
    }
    /** @type {Placing} */
    const p = { el, x: cx - width / 2, y: cy - height / 2, width, height, natural, url, upload };
    keptOnBoard(p, this.#o.board);
    this.#placing = p;
    this.#listen(p);
    this.#o.board.element.append(el);
    this.#show(p);
    el.focus({ preventScroll: true });
    upload.then((r) => {
      if (!r && this.#placing === p) this.cancel();
    });
  }

  /** Places the image being moved: sends its `image` op once the upload is done. */
  async place() {
    const p = this.#placing;
    if (!p) return;
    this.#placing = null;
    p.el.classList.add('pending');
    const uploaded = await p.upload;
    if (!uploaded) {
      this.#remove(p);
      return;
    }
    const id = this.#o.nextId();
    p.id = id;
    this.#pending.set(id, p);
    const sent = this.#o.send({
      type: 'image', id, image: uploaded.image,
      x: Math.round(p.x), y: Math.round(p.y), width: Math.round(p.width), height: Math.round(p.height),
    });
    if (!sent) {
      this.#pending.delete(id);
      this.#remove(p);
      this.#o.onError('Not connected: the image was not added. Try again in a moment.');
    }
  }

  /** Drops the image being moved without placing it. */
  cancel() {
    const p = this.#placing;
    if (!p) return;
    this.#placing = null;
    this.#remove(p);
  }

  /**
   * This page's image op with client id `id` was committed at `seq`: it goes once tiles covering
   * `seq` are on screen.
   * @param {number} id
   * @param {number} seq
   */
  committed(id, seq) {
    const p = this.#pending.get(id);
    if (!p) return;
    p.seq = seq;
    if (this.#tilesSeq >= seq) this.#done(id);
    else setTimeout(() => this.#done(id), PENDING_MAX_MS);
  }

  /**
   * A tile at `seq` arrived; once tiles stop coming for a moment, its round is on screen.
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
    for (const [id, p] of this.#pending) if (p.seq !== undefined && p.seq <= seq) this.#done(id);
  }

  /** The server refused the op with client id `id`. @param {number} id */
  failed(id) {
    this.#done(id);
  }

  /** @param {number} id */
  #done(id) {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    this.#remove(p);
  }

  /** @param {Placing} p */
  #remove(p) {
    p.el.remove();
    URL.revokeObjectURL(p.url);
  }

  /**
   * @param {Blob} file
   * @returns {Promise<{image: string, width: number, height: number} | null>}
   */
  async #upload(file) {
    try {
      const res = await fetch(`/api/rooms/${this.#o.roomId}/images`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.#o.key() ?? ''}` },
        body: file,
      });
      const body = await res.json().catch(() => null);
      if (res.status === 201 && body && typeof body.image === 'string') return body;
      this.#o.onError(body?.error?.message ?? `The image could not be uploaded (${res.status}).`);
    } catch {
      this.#o.onError('The image could not be uploaded: no connection.');
    }
    return null;
  }

  /** @param {ClipboardEvent} e */
  #paste(e) {
    const target = /** @type {HTMLElement | null} */ (e.target instanceof HTMLElement ? e.target : null);
    if (target && (target.isContentEditable || target instanceof HTMLTextAreaElement
      || (target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'range', 'color', 'file'].includes(target.type)))) return;
    const file = imageFile(e.clipboardData);
    if (!file) return;
    e.preventDefault();
    this.add(file);
  }

  /** @param {DragEvent} e */
  #drop(e) {
    const file = imageFile(e.dataTransfer);
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    if (!file) {
      this.#o.onError('Only PNG, JPEG, GIF and WebP images can be added.');
      return;
    }
    this.add(file, { clientX: e.clientX, clientY: e.clientY });
  }

  /** @param {PointerEvent} e */
  #pressOutside(e) {
    const p = this.#placing;
    if (!p || (e.target instanceof Node && p.el.contains(e.target))) return;
    this.place();
    // A press on the board only places the image; anywhere else it also does what it does.
    if (e.target instanceof Node && this.#o.stage.contains(e.target)) {
      e.stopPropagation();
      e.preventDefault();
    }
  }

  /** @param {KeyboardEvent} e */
  #key(e) {
    if (!this.#placing) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      this.place();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.cancel();
    }
  }

  /**
   * Moving (drag the image) and resizing (drag a corner, the opposite corner stays).
   * @param {Placing} p
   */
  #listen(p) {
    p.el.addEventListener('pointerdown', (e) => {
      if (this.#placing !== p || e.button !== 0) return;
      e.stopPropagation();
      e.preventDefault();
      p.el.setPointerCapture(e.pointerId);
      const corner = /** @type {HTMLElement} */ (e.target).dataset?.corner;
      const [sx, sy] = this.#o.board.toCanvas(e.clientX, e.clientY);
      const start = { x: p.x, y: p.y, width: p.width, height: p.height };
      /** @param {PointerEvent} m */
      const move = (m) => {
        const [mx, my] = this.#o.board.toCanvas(m.clientX, m.clientY);
        if (corner) Object.assign(p, resized(start, corner, mx, my, this.#o.board));
        else Object.assign(p, { x: start.x + mx - sx, y: start.y + my - sy });
        keptOnBoard(p, this.#o.board);
        this.#show(p);
      };
      const end = () => {
        p.el.removeEventListener('pointermove', move);
        p.el.removeEventListener('pointerup', end);
        p.el.removeEventListener('pointercancel', end);
      };
      p.el.addEventListener('pointermove', move);
      p.el.addEventListener('pointerup', end);
      p.el.addEventListener('pointercancel', end);
    });
  }

  /** The canvas point in the middle of what the board shows, inside the board. */
  #viewCentre() {
    const { board } = this.#o;
    const v = board.visibleRect();
    return [
      Math.min(board.width, Math.max(0, v.x + v.width / 2)),
      Math.min(board.height, Math.max(0, v.y + v.height / 2)),
    ];
  }

  /** @param {Placing} p */
  #show(p) {
    const s = p.el.style;
    s.left = `${p.x}px`;
    s.top = `${p.y}px`;
    s.width = `${p.width}px`;
    s.height = `${p.height}px`;
    // Where it will land, in whole canvas pixels (what the op sends), for tests and tools.
    p.el.dataset.rect = [p.x, p.y, p.width, p.height].map(Math.round).join(',');
  }
}

/**
 * The first image file of a paste or a drop, if any.
 * @param {DataTransfer | null | undefined} data
 * @returns {File | null}
 */
function imageFile(data) {
  if (!data) return null;
  for (const item of data.items ?? []) {
    if (item.kind === 'file' && TYPES.includes(item.type)) return item.getAsFile();
  }
  for (const file of data.files ?? []) if (TYPES.includes(file.type)) return file;
  return null;
}

/**
 * The pixel size of an image at `url`, or null when it cannot be decoded.
 * @param {string} url
 * @returns {Promise<{width: number, height: number} | null>}
 */
function naturalSize(url) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img.naturalWidth && img.naturalHeight ? { width: img.naturalWidth, height: img.naturalHeight } : null);
    img.onerror = () => resolve(null);
    img.src = url;
  });
}
