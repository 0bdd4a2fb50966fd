// The Share dialog (edit and view links, each with a copy button) and the Export dialog (PNG
// download at a chosen scale, optionally with a transparent background).
//
// The edit key lives only in the URL fragment (#key=...), which browsers never send to servers;
// nothing here puts it in a URL's path or query.

import { setupDialog } from './dialogs.js';
import { toast } from './toast.js';

/** Largest export the server renders (docs/protocol.md, canvas.png). */
const MAX_EXPORT_PIXELS = 67108864;

/** @param {string} sel */
const $ = (sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

/**
 * @param {string} roomId
 * @param {string | null} key the edit key from the fragment, or null for viewers
 */
export function setupShare(roomId, key) {
  const viewUrl = `${location.origin}/r/${roomId}`;
  let editUrl = key ? `${viewUrl}#key=${encodeURIComponent(key)}` : null;
  const dialog = /** @type {HTMLDialogElement} */ ($('#share-dialog'));
  const editInput = /** @type {HTMLInputElement} */ ($('#share-edit-url'));
  const viewInput = /** @type {HTMLInputElement} */ ($('#share-view-url'));
  editInput.value = editUrl ?? '';
  viewInput.value = viewUrl;
  // Viewers only ever see the view link.
  $('.share-edit').hidden = !editUrl;
  for (const input of [editInput, viewInput]) input.addEventListener('focus', () => input.select());
  $('#copy-edit').addEventListener('click', () => editUrl && copy(editUrl, editInput, 'Edit link copied: anyone with it can draw.'));
  $('#copy-view').addEventListener('click', () => copy(viewUrl, viewInput, 'View link copied: it lets people watch, not draw.'));
  setupDialog(dialog, $('#share'));
  return {
    /** The owner made a new edit key: the dialog shows its link. @param {string} next */
    setEditKey(next) {
      editUrl = `${viewUrl}#key=${encodeURIComponent(next)}`;
      editInput.value = editUrl;
      $('.share-edit').hidden = false;
    },
  };
}

/**
 * @param {string} text
 * @param {HTMLInputElement} input shown selected if the clipboard is not available
 * @param {string} done
 */
async function copy(text, input, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    input.focus();
    input.select();
    toast('Press Ctrl+C (⌘C) to copy the selected link.');
  }
}

/**
 * A board's name as the start of a file name: letters, digits, `_` and `-` only ("Team-sketch").
 * @param {string} name
 */
export function fileStem(name) {
  return name.replace(/[^\w-]+/g, '-').replace(/^-+|-+$/g, '') || 'inkroom';
}

/**
 * The file name of an export: the board's name, the image's size and its background, so that
 * exports of one board at several sizes or backgrounds do not overwrite each other
 * ("Team-sketch-3200x2000-transparent.png").
 * @param {{name: string, width: number, height: number, background?: string}} room
 * @param {number} scale
 * @param {boolean} transparent
 */
export function exportName(room, scale, transparent) {
  const base = fileStem(room.name);
  const size = `${Math.round(room.width * scale)}x${Math.round(room.height * scale)}`;
  const bg = (room.background ?? '').toLowerCase();
  const background = transparent ? 'transparent' : bg === '#ffffff' ? 'white' : bg === '#000000' ? 'black' : `bg-${bg.replace(/^#/, '') || 'none'}`;
  return `${base}-${size}-${background}.png`;
}

/**
 * @param {string} roomId
 * @param {() => {name: string, width: number, height: number, background: string} | null} room the room, once known
 */
export function setupExport(roomId, room) {
  const dialog = /** @type {HTMLDialogElement} */ ($('#export-dialog'));
  const link = /** @type {HTMLAnchorElement} */ ($('#download'));
  const transparent = /** @type {HTMLInputElement} */ ($('#export-transparent'));
  const radios = /** @type {NodeListOf<HTMLInputElement>} */ (dialog.querySelectorAll('input[name=scale]'));

  const update = () => {
    const r = room();
    if (!r) return;
    for (const radio of radios) {
      const s = Number(radio.value);
      const w = Math.round(r.width * s);
      const h = Math.round(r.height * s);
      radio.disabled = w * h > MAX_EXPORT_PIXELS;
      const size = dialog.querySelector(`.export-size[data-scale="${radio.value}"]`);
      if (size) size.textContent = `${w} × ${h}`;
    }
    let checked = [...radios].find((x) => x.checked && !x.disabled);
    if (!checked) {
      checked = [...radios].find((x) => x.value === '1') ?? radios[0];
      checked.checked = true;
    }
    const scale = checked.value;
    const params = new URLSearchParams({ scale });
    if (transparent.checked) params.set('background', 'transparent');
    link.href = `/api/rooms/${roomId}/canvas.png?${params}`;
    link.download = exportName(r, Number(scale), transparent.checked);
  };
  for (const radio of radios) radio.addEventListener('change', update);
  transparent.addEventListener('change', update);
  link.addEventListener('click', () => setTimeout(() => dialog.close(), 0));
  setupDialog(dialog, $('#export'), update);
}
