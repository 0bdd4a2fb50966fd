// The History panel ("time travel"): a slider over the board's stored steps with a preview of
// the board at the chosen step, its time, and three actions: download that moment, download a
// timelapse of the whole history, and restore the board to that moment (for those allowed, after
// a confirmation, as one op everyone sees and the restorer can undo). Scrubbing is this page's
// alone: it only reads GET /api/rooms/{id}/history and canvas.png?seq=N, never the live board.
// A side panel on a desktop; a sheet over the board on a phone.

import { confirmDialog } from './dialogs.js';
import { fileStem } from './share.js';
import { toast } from './toast.js';

/** Wait after the slider stops before asking for its step's picture (ms). */
const PREVIEW_DEBOUNCE = 120;
/** Pictures of steps kept in memory (object URLs), so scrubbing back and forth is instant. */
const PREVIEW_CACHE = 24;
/** At most one /history refetch this often while the room's seq moves (ms). */
const REFRESH_EVERY = 1000;
/** A restore unanswered this long lets its button go (ms): the answer may have been lost. */
const RESTORE_PATIENCE = 15000;

/**
 * The body of GET /api/rooms/{id}/history (docs/protocol.md).
 * @typedef {{id: string, from: number, seq: number, restore: 'owner' | 'editor',
 *   marks: Array<{seq: number, at: string | null}>}} HistoryInfo
 */

/**
 * The last mark at or before `seq` (marks ascend), or null.
 * @param {HistoryInfo['marks']} marks
 * @param {number} seq
 */
export function markAt(marks, seq) {
  let lo = 0;
  let hi = marks.length - 1;
  /** @type {HistoryInfo['marks'][number] | null} */
  let found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid].seq <= seq) {
      found = marks[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * A time as people say it: "today 09:14", "yesterday 18:02", "3 Dec, 09:14", "3 Dec 2025, 09:14".
 * @param {string} at RFC 3339
 * @param {Date} [now]
 */
export function describeTime(at, now = new Date()) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const day = (/** @type {Date} */ x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(now) - day(d)) / 86400000);
  if (days === 0) return `today ${time}`;
  if (days === 1) return `yesterday ${time}`;
  const date = d.toLocaleDateString(undefined, d.getFullYear() === now.getFullYear()
    ? { day: 'numeric', month: 'short' }
    : { day: 'numeric', month: 'short', year: 'numeric' });
  return `${date}, ${time}`;
}

/**
 * When step `seq` was drawn, from the marks: exact when a mark is at that step, "about …" from
 * the nearest mark before it, empty when no time is known.
 * @param {HistoryInfo['marks']} marks
 * @param {number} seq
 */
export function stepTime(marks, seq) {
  const mark = markAt(marks, seq);
  if (!mark?.at) return '';
  const when = describeTime(mark.at);
  return !when || mark.seq === seq ? when : `about ${when}`;
}

/**
 * The message of an API error body (`{"error": {"code", "message"}}`, or `{"error": "code"}`).
 * @param {Response} res
 */
async function errorText(res) {
  try {
    const json = await res.json();
    const e = json?.error;
    if (typeof e === 'string') return json.message ?? e;
    if (e?.message) return String(e.message);
  } catch {
    // Not JSON.
  }
  return `HTTP ${res.status}`;
}

/**
 * Saves a blob as a file through a temporary link.
 * @param {Blob} blob @param {string} name
 */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its bytes by then.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * @typedef {{
 *   roomId: string,
 *   room: () => {name: string, width: number, height: number} | null,
 *   role: () => string | null,
 *   canDraw: () => boolean,
 *   restore: (seq: number) => number | null,
 * }} HistoryOptions
 * `role`: this page's role ('owner', 'editor', 'viewer'); `canDraw`: whether the room takes this
 * page's ops now (not locked, read-only or offline); `restore`: sends a `restore` and returns its
 * client op id, or null when it could not be sent.
 */

export class History {
  #opts;
  /** @type {HTMLElement} */ #root;
  /** @type {HTMLElement} */ #toggle;
  /** @type {HTMLInputElement} */ #slider;
  /** @type {HTMLImageElement} */ #image;
  /** @type {HTMLElement} */ #preview;
  /** @type {HTMLElement} */ #status;
  /** @type {HTMLAnchorElement} */ #download;
  /** @type {HTMLButtonElement} */ #timelapse;
  /** @type {HTMLButtonElement} */ #restore;
  /** @type {HTMLDialogElement} */ #dialog;
  /** The last /history answer; null until the first arrives. @type {HistoryInfo | null} */
  #info = null;
  /** The slider sits at the newest step and follows it as the room moves on. */
  #atLatest = true;
  /** The step whose picture is wanted in the preview. @type {number | null} */
  #want = null;
  /** The step whose picture the preview shows. @type {number | null} */
  #shown = null;
  /** A picture request is in flight (at most one at a time). */
  #loading = false;
  /** The server was busy for the picture in flight: ask for it again. */
  #retry = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #debounce;
  /** Pictures by `seq@scale`, oldest first. @type {Map<string, string>} */
  #cache = new Map();
  /** Cancels the requests of a panel that closed. @type {AbortController | null} */
  #abort = null;
  /** A /history fetch is in flight; `#stale`: the seq moved meanwhile, fetch again after. */
  #refreshing = false;
  #stale = false;
  #lastRefresh = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #refreshTimer;
  /** The restore sent and not answered yet. @type {{id: number, seq: number} | null} */
  #pending = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #pendingTimer;

  /**
   * @param {HTMLElement} root the `.history-panel`
   * @param {HTMLElement} toggle the top bar's History button (its clicks are the page's to handle)
   * @param {HTMLDialogElement} dialog the restore confirmation
   * @param {HistoryOptions} opts
   */
  constructor(root, toggle, dialog, opts) {
    this.#opts = opts;
    this.#root = root;
    this.#toggle = toggle;
    this.#dialog = dialog;
    const el = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
    this.#slider = /** @type {HTMLInputElement} */ (el('.history-slider'));
    this.#image = /** @type {HTMLImageElement} */ (el('.history-image'));
    this.#preview = el('.history-preview');
    this.#status = el('.history-status');
    this.#download = /** @type {HTMLAnchorElement} */ (el('.history-download'));
    this.#timelapse = /** @type {HTMLButtonElement} */ (el('.history-timelapse'));
    this.#restore = /** @type {HTMLButtonElement} */ (el('.history-restore'));
    el('.history-close').addEventListener('click', () => this.open(false));
    this.#slider.addEventListener('input', () => this.#moved());
    el('.history-prev').addEventListener('click', () => this.#step(-1));
    el('.history-next').addEventListener('click', () => this.#step(1));
    this.#timelapse.addEventListener('click', () => this.#downloadTimelapse());
    this.#download.addEventListener('click', (e) => {
      // A plain click fetches, so that a busy server can say so; modified clicks (a new tab,
      // save as) are the browser's.
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || !this.#download.href) return;
      e.preventDefault();
      this.#downloadMoment();
    });
    this.#restore.addEventListener('click', () => this.#confirmRestore());
    root.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || this.#dialog.open) return;
      e.stopPropagation();
      this.open(false);
    });
  }

  get isOpen() {
    return !this.#root.hidden;
  }

  /** Opens (fetching the history afresh, the slider at the newest step) or closes the panel. @param {boolean} open */
  open(open) {
    if (open === this.isOpen) return;
    this.#root.hidden = !open;
    this.#toggle.setAttribute('aria-expanded', String(open));
    document.body.classList.toggle('history-open', open);
    if (open) {
      this.#abort = new AbortController();
      this.#atLatest = true;
      this.#info = null;
      this.#render();
      // The slider takes the focus once it has steps (a disabled one cannot have it).
      /** @type {HTMLElement} */ (this.#root.querySelector('.history-title')).focus();
      this.#refresh();
      return;
    }
    const hadFocus = this.#root.contains(document.activeElement);
    this.#abort?.abort();
    this.#abort = null;
    clearTimeout(this.#debounce);
    clearTimeout(this.#refreshTimer);
    this.#refreshing = false;
    this.#stale = false;
    this.#loading = false;
    this.#want = null;
    this.#shown = null;
    this.#image.removeAttribute('src');
    delete this.#image.dataset.seq;
    for (const url of this.#cache.values()) URL.revokeObjectURL(url);
    this.#cache.clear();
    if (hadFocus) this.#toggle.focus();
  }

  /**
   * The room's seq moved (a commit): while open, the history is fetched again (at most once a
   * second) so that the slider reaches the new steps.
   * @param {number} seq
   */
  seqMoved(seq) {
    if (!this.isOpen || (this.#info && seq <= this.#info.seq)) return;
    if (this.#refreshing) {
      this.#stale = true;
      return;
    }
    clearTimeout(this.#refreshTimer);
    const wait = this.#lastRefresh + REFRESH_EVERY - performance.now();
    this.#refreshTimer = setTimeout(() => this.#refresh(), Math.max(0, wait));
  }

  /** The page's role or the room's editing state changed: who may restore. */
  changed() {
    if (this.isOpen) this.#render();
  }

  /** The connection started over (a `welcome`): a restore sent before is not waited for. */
  reconnected() {
    this.#settle();
    if (this.isOpen) this.#render();
  }

  /** Stops waiting for the restore sent; returns it. */
  #settle() {
    const pending = this.#pending;
    this.#pending = null;
    clearTimeout(this.#pendingTimer);
    return pending;
  }

  /**
   * A commit by this page: closes the panel when it answers the restore sent.
   * @param {number} id
   */
  committed(id) {
    if (this.#pending?.id !== id) return;
    const { seq } = /** @type {{seq: number}} */ (this.#settle());
    this.open(false);
    toast(`Restored the board to step ${seq}. Undo brings back what was there.`);
  }

  /**
   * An error for op `id`: what to tell the person if it answers the restore sent (else null).
   * @param {number | null | undefined} id
   * @param {string} code
   * @returns {string | null}
   */
  failed(id, code) {
    if (id == null || this.#pending?.id !== id) return null;
    this.#settle();
    this.#render();
    if (code === 'forbidden') return "Only the board's owner can restore it.";
    if (code === 'bad_message') return 'The board has no such step to restore; pick another.';
    return null;
  }

  /** Fetches /history and shows it. */
  async #refresh() {
    const signal = this.#abort?.signal;
    if (!signal) return;
    this.#refreshing = true;
    this.#stale = false;
    this.#lastRefresh = performance.now();
    try {
      const res = await fetch(`/api/rooms/${this.#opts.roomId}/history`, { signal });
      if (!res.ok) throw new Error(await errorText(res));
      /** @type {HistoryInfo} */
      const info = await res.json();
      if (signal.aborted) return;
      this.#info = info;
      this.#slider.min = String(info.from);
      this.#slider.max = String(info.seq);
      if (this.#atLatest) this.#slider.value = String(info.seq);
      this.#render();
      if (document.activeElement === this.#root.querySelector('.history-title')) this.#slider.focus();
      this.#wantPreview(Number(this.#slider.value), true);
    } catch (err) {
      if (signal.aborted) return;
      this.#status.textContent = `History is not available now: ${err instanceof Error ? err.message : err}`;
      this.#status.hidden = false;
      if (!this.#info) /** @type {HTMLElement} */ (this.#root.querySelector('.history-step')).textContent = 'No history to show';
    } finally {
      if (!signal.aborted) {
        this.#refreshing = false;
        if (this.#stale) this.seqMoved(Infinity);
      }
    }
  }

  /** The slider moved (by drag, keys or the step buttons). */
  #moved() {
    if (!this.#info) return;
    const seq = Number(this.#slider.value);
    this.#atLatest = seq === this.#info.seq;
    this.#render();
    this.#wantPreview(seq, false);
  }

  /** @param {1 | -1} dir */
  #step(dir) {
    if (!this.#info) return;
    const next = Math.min(this.#info.seq, Math.max(this.#info.from, Number(this.#slider.value) + dir));
    if (String(next) === this.#slider.value) return;
    this.#slider.value = String(next);
    this.#moved();
  }

  /** Who may restore, by the history's `restore` and this page's role. */
  #mayRestore() {
    const role = this.#opts.role();
    if (!this.#info || role === 'viewer' || role === null) return false;
    return this.#info.restore === 'owner' ? role === 'owner' : role === 'owner' || role === 'editor';
  }

  /** Shows the step, its time, the links and which buttons apply. */
  #render() {
    const info = this.#info;
    const el = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (this.#root.querySelector(sel));
    const ready = info !== null;
    for (const c of [this.#slider, el('.history-prev'), el('.history-next'), this.#timelapse]) {
      /** @type {HTMLInputElement | HTMLButtonElement} */ (c).disabled = !ready || (c === this.#timelapse && this.#timelapse.dataset.busy === 'true');
    }
    this.#download.setAttribute('aria-disabled', String(!ready));
    this.#restore.hidden = !this.#mayRestore();
    if (!info) {
      el('.history-step').textContent = 'Loading history…';
      el('.history-time').textContent = '';
      el('.history-start').textContent = '';
      el('.history-end').textContent = '';
      this.#status.hidden = true;
      this.#download.removeAttribute('href');
      this.#restore.disabled = true;
      return;
    }
    const seq = Number(this.#slider.value);
    const step = `Step ${seq} of ${info.seq}`;
    const time = stepTime(info.marks, seq);
    el('.history-step').textContent = step;
    el('.history-time').textContent = seq === info.seq ? (time ? `${time} · now` : 'now') : time;
    this.#slider.setAttribute('aria-valuetext', time ? `${step}, ${time}` : step);
    el('.history-start').textContent = info.from === 0 ? 'Start' : `Step ${info.from}, the oldest kept`;
    el('.history-end').textContent = 'Now';
    el('.history-prev').toggleAttribute('disabled', seq <= info.from);
    el('.history-next').toggleAttribute('disabled', seq >= info.seq);
    const room = this.#opts.room();
    if (room) this.#preview.style.setProperty('--board-ratio', `${room.width} / ${room.height}`);
    this.#download.href = `/api/rooms/${this.#opts.roomId}/canvas.png?seq=${seq}`;
    this.#download.download = `${fileStem(room?.name ?? '')}-step-${seq}.png`;
    this.#download.setAttribute('aria-label', `Download this moment: the board at step ${seq}, as PNG`);
    const pending = this.#pending !== null;
    this.#restore.textContent = pending ? 'Restoring…' : 'Restore this moment';
    this.#restore.disabled = pending || seq === info.seq || !this.#opts.canDraw();
    this.#restore.title = seq === info.seq ? 'This is the board as it is now'
      : !this.#opts.canDraw() ? 'The board takes no changes now' : `Set the board back to step ${seq}, for everyone`;
  }

  /**
   * Asks for the picture of step `seq`: at once when kept or `now`, else once the slider rests.
   * @param {number} seq @param {boolean} now
   */
  #wantPreview(seq, now) {
    this.#want = seq;
    clearTimeout(this.#debounce);
    const cached = this.#cache.get(this.#key(seq));
    if (cached) {
      this.#show(seq, cached);
      return;
    }
    this.#debounce = setTimeout(() => this.#pump(), now ? 0 : PREVIEW_DEBOUNCE);
  }

  /** The scale that fits the board into the preview box at this screen's pixel density. */
  #scale() {
    const room = this.#opts.room();
    const box = this.#preview.getBoundingClientRect();
    if (!room || box.width < 1 || box.height < 1) return 0.25;
    const fit = Math.min(box.width / room.width, box.height / room.height) * (window.devicePixelRatio || 1);
    return Math.min(4, Math.max(0.1, Math.ceil(fit * 100) / 100));
  }

  /** @param {number} seq */
  #key(seq) {
    return `${seq}@${this.#scale()}`;
  }

  /** Fetches the wanted step's picture unless a fetch is in flight; stale answers are kept, not shown. */
  async #pump() {
    const signal = this.#abort?.signal;
    const seq = this.#want;
    if (this.#loading || !signal || seq === null) return;
    const key = this.#key(seq);
    const cached = this.#cache.get(key);
    if (cached) {
      this.#show(seq, cached);
      return;
    }
    this.#loading = true;
    this.#preview.setAttribute('aria-busy', 'true');
    try {
      const scale = key.split('@')[1];
      const res = await fetch(`/api/rooms/${this.#opts.roomId}/canvas.png?seq=${seq}&scale=${scale}`, { signal });
      if (res.status === 429) {
        // The server renders only a few earlier moments at once: ask again shortly.
        const after = Math.min(2, Math.max(0.3, Number(res.headers.get('Retry-After')) || 0.5));
        await new Promise((r) => setTimeout(r, after * 1000));
        if (!signal.aborted && this.#want === seq) this.#retry = true;
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
      const url = URL.createObjectURL(await res.blob());
      if (signal.aborted) {
        URL.revokeObjectURL(url);
        return;
      }
      this.#keep(key, url);
      if (this.#want === seq) this.#show(seq, url);
    } catch (err) {
      if (signal.aborted) return;
      if (this.#want === seq) {
        this.#status.textContent = `Could not show step ${seq}: ${err instanceof Error ? err.message : err}`;
        this.#status.hidden = false;
      }
    } finally {
      if (!signal.aborted) {
        this.#loading = false;
        this.#preview.removeAttribute('aria-busy');
        // The slider moved on meanwhile: its step now (a step that failed is not asked again,
        // one the server was too busy for is).
        const retry = this.#retry;
        this.#retry = false;
        if (this.#want !== null && (this.#want !== seq || retry)) this.#pump();
      }
    }
  }

  /** @param {string} key @param {string} url */
  #keep(key, url) {
    this.#cache.set(key, url);
    for (const [k, old] of this.#cache) {
      if (this.#cache.size <= PREVIEW_CACHE) break;
      if (old === this.#image.getAttribute('src')) continue;
      this.#cache.delete(k);
      URL.revokeObjectURL(old);
    }
  }

  /** @param {number} seq @param {string} url */
  #show(seq, url) {
    this.#shown = seq;
    this.#image.src = url;
    this.#image.dataset.seq = String(seq);
    this.#image.alt = `The board at step ${seq}`;
    this.#status.hidden = true;
    // Used again: it moves to the young end of the cache.
    for (const [k, u] of this.#cache) {
      if (u !== url) continue;
      this.#cache.delete(k);
      this.#cache.set(k, u);
      break;
    }
  }

  /** Downloads the full-size PNG of the step shown, named after the board and the step. */
  async #downloadMoment() {
    const link = this.#download;
    if (link.getAttribute('aria-busy') === 'true') return;
    const url = link.href;
    const name = link.download;
    link.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(url);
      if (res.status === 429) {
        const after = Number(res.headers.get('Retry-After'));
        toast(`The server is busy with other moments right now; try again ${after > 0 ? `in ${after} s` : 'in a moment'}.`, 'error');
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
      saveBlob(await res.blob(), name);
    } catch (err) {
      toast(`Could not download this moment: ${err instanceof Error ? err.message : err}`, 'error');
    } finally {
      link.removeAttribute('aria-busy');
    }
  }

  /** Downloads the timelapse (an animated PNG) through fetch, so that a busy server can be told apart. */
  async #downloadTimelapse() {
    const button = this.#timelapse;
    if (button.dataset.busy === 'true') return;
    button.dataset.busy = 'true';
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    const text = /** @type {HTMLElement} */ (button.querySelector('.history-timelapse-text'));
    text.textContent = 'Rendering…';
    try {
      const res = await fetch(`/api/rooms/${this.#opts.roomId}/timelapse.png`);
      if (res.status === 429) {
        const after = Number(res.headers.get('Retry-After'));
        toast(`Another timelapse is being made right now; try again ${after > 0 ? `in ${after} s` : 'in a moment'}.`, 'error');
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
      saveBlob(await res.blob(), `${fileStem(this.#opts.room()?.name ?? '')}-timelapse.png`);
      toast('Timelapse downloaded: an animated PNG that plays in any browser.');
    } catch (err) {
      toast(`Could not make the timelapse: ${err instanceof Error ? err.message : err}`, 'error');
    } finally {
      delete button.dataset.busy;
      button.removeAttribute('aria-busy');
      text.textContent = 'Timelapse';
      button.disabled = this.#info === null;
    }
  }

  async #confirmRestore() {
    if (!this.#info || this.#pending) return;
    const seq = Number(this.#slider.value);
    const time = stepTime(this.#info.marks, seq);
    const title = /** @type {HTMLElement} */ (this.#dialog.querySelector('.restore-title'));
    const text = /** @type {HTMLElement} */ (this.#dialog.querySelector('.restore-text'));
    title.textContent = `Restore the board to step ${seq}?`;
    text.textContent = `The board goes back to how it was${time ? ` ${time}` : ''}, at step ${seq} of ${this.#info.seq}. Everyone sees the change; you can undo it.`;
    const ok = await confirmDialog(this.#dialog, this.#restore);
    if (!ok || !this.isOpen || !this.#mayRestore() || !this.#opts.canDraw()) return;
    const id = this.#opts.restore(seq);
    if (id === null) {
      toast('Not connected; try again in a moment.', 'error');
      return;
    }
    this.#pending = { id, seq };
    this.#pendingTimer = setTimeout(() => {
      this.#settle();
      this.#render();
    }, RESTORE_PATIENCE);
    this.#render();
  }
}
