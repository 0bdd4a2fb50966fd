// The owner's controls (moderation): the owner key kept from the `#owner=` fragment, the lock
// button, Revert and Remove buttons per person in the people panel, and "New edit link" and the owner
// link in the share dialog, each behind a confirmation. The owner key goes to the server only in
// `hello` and in the Authorization header of POST /api/rooms/{id}/edit_key, never in a URL.

import { confirmDialog } from './dialogs.js';
import { toast } from './toast.js';

/** @param {string} sel */
const $ = (sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

/** @param {string} roomId */
const storageKey = (roomId) => `inkroom.owner.${roomId}`;

/**
 * The owner key of this board in this browser: taken from the `#owner=` fragment (then kept in
 * localStorage and removed from the address bar, so a copied address never carries it), or the
 * one kept before. Null when this browser does not own the board.
 * @param {string} roomId
 * @returns {string | null}
 */
export function ownerKey(roomId) {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromLink = params.get('owner');
  try {
    if (fromLink) {
      localStorage.setItem(storageKey(roomId), fromLink);
      params.delete('owner');
      const rest = params.toString();
      history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
      toast('You own this board: your owner link is under Share. Keep it private.');
    }
    return fromLink ?? localStorage.getItem(storageKey(roomId));
  } catch {
    // Storage disabled: the key from the link still works for this visit.
    return fromLink;
  }
}

/** Forgets an owner key the server refused (it belongs to no owner of this board). @param {string} roomId */
export function forgetOwnerKey(roomId) {
  try {
    localStorage.removeItem(storageKey(roomId));
  } catch {
    // Nothing kept.
  }
}

export class Moderation {
  #roomId;
  #key;
  #send;
  #onEditKey;
  /** The owner's lock is on, as the last `editing` said. */
  #locked = false;
  #owner = false;
  /** The name of the person whose revert was sent last and not answered yet. @type {string | null} */
  #reverting = null;

  /**
   * @param {{roomId: string, key: string | null, send: (msg: object) => boolean,
   *   onEditKey: (key: string) => void}} opts `onEditKey`: a new edit key was made
   */
  constructor({ roomId, key, send, onEditKey }) {
    this.#roomId = roomId;
    this.#key = key;
    this.#send = send;
    this.#onEditKey = onEditKey;
    $('#owner-lock').addEventListener('click', () => this.#toggleLock());
    $('#new-edit-link').addEventListener('click', () => this.#newEditLink());
    $('#copy-owner').addEventListener('click', () => this.#copyOwnerLink());
  }

  /** Whether this page is the owner now. */
  get owner() {
    return this.#owner;
  }

  /**
   * The page's role and whether the owner's lock is on (from `welcome` and `editing`).
   * @param {string | null} role
   * @param {string | undefined} reason the `editing` reason, if drawing is refused
   */
  update(role, reason) {
    this.#owner = role === 'owner';
    if (reason !== 'room_locked') this.#locked = reason === 'locked';
    for (const el of document.querySelectorAll('.owner-only')) /** @type {HTMLElement} */ (el).hidden = !this.#owner;
    const lock = $('#owner-lock');
    lock.textContent = this.#locked ? 'Unlock board' : 'Lock board';
    lock.setAttribute('aria-pressed', String(this.#locked));
    document.body.classList.toggle('is-owner', this.#owner);
  }

  /**
   * The Revert and Remove buttons for a person in the people panel (the owner's only, never on
   * its own row).
   * @param {{id: number, name: string}} m
   * @param {number | null} me
   * @returns {HTMLElement[]}
   */
  rowActions(m, me) {
    if (!this.#owner || m.id === me) return [];
    const revert = document.createElement('button');
    revert.type = 'button';
    revert.className = 'btn revert';
    revert.textContent = 'Revert';
    revert.setAttribute('aria-label', `Revert everything ${m.name} drew`);
    revert.addEventListener('click', () => this.#revert(m, revert));
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn kick';
    b.textContent = 'Remove';
    b.setAttribute('aria-label', `Remove ${m.name} from the board`);
    b.addEventListener('click', () => this.#kick(m, b));
    return [revert, b];
  }

  /**
   * What to tell the owner about an error that answers its revert, if it does (else null).
   * @param {string} code
   * @returns {string | null}
   */
  explain(code) {
    const name = this.#reverting;
    this.#reverting = null;
    if (name === null) return null;
    if (code === 'nothing_to_undo') return `${name} has nothing left to revert.`;
    if (code === 'bad_message') return `${name} is no longer on the board.`;
    return null;
  }

  /** A commit of this page arrived: a revert it sent is answered. @param {string} op */
  committed(op) {
    if (op !== 'revert' || this.#reverting === null) return;
    toast(`Reverted what ${this.#reverting} drew. Undo brings it back.`);
    this.#reverting = null;
  }

  /**
   * Asks in the moderation dialog.
   * @param {string} title @param {string} text @param {string} ok @param {HTMLElement | null} opener
   */
  #confirm(title, text, ok, opener) {
    $('#moderation-title').textContent = title;
    $('#moderation-text').textContent = text;
    $('#moderation-ok').textContent = ok;
    return confirmDialog(/** @type {HTMLDialogElement} */ ($('#moderation-dialog')), opener);
  }

  async #toggleLock() {
    const locking = !this.#locked;
    const ok = await this.#confirm(
      locking ? 'Lock the board?' : 'Unlock the board?',
      locking ? 'Nobody can draw until you unlock it, you included. Everyone sees that it is locked.' : 'Everyone with the edit link can draw again.',
      locking ? 'Lock board' : 'Unlock board',
      $('#owner-lock'),
    );
    if (ok && this.#owner) this.#send({ type: 'lock', locked: locking });
  }

  /** @param {{id: number, name: string}} m @param {HTMLElement} opener */
  async #kick(m, opener) {
    const ok = await this.#confirm(`Remove ${m.name}?`, `${m.name} is disconnected from the board. They can come back with their link; make a new edit link to keep them from drawing.`, 'Remove', opener);
    if (ok && this.#owner) this.#send({ type: 'kick', member: m.id });
  }

  /** @param {{id: number, name: string}} m @param {HTMLElement} opener */
  async #revert(m, opener) {
    const ok = await this.#confirm(`Revert what ${m.name} drew?`, `Everything ${m.name} drew that can still be undone goes, for everyone. Others' drawing stays. You can undo this.`, 'Revert', opener);
    if (!ok || !this.#owner) return;
    if (this.#send({ type: 'revert', member: m.id })) this.#reverting = m.name;
  }

  async #newEditLink() {
    const ok = await this.#confirm('Make a new edit link?', 'The current edit link stops working: people who joined with it can only watch until they get the new one.', 'New edit link', $('#new-edit-link'));
    if (!ok || !this.#key) return;
    try {
      const res = await fetch(`/api/rooms/${this.#roomId}/edit_key`, { method: 'POST', headers: { Authorization: `Bearer ${this.#key}` } });
      const json = await res.json();
      if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
      this.#onEditKey(json.edit_key);
      toast('New edit link made: the old one no longer works.');
    } catch (err) {
      toast(`Could not make a new edit link: ${err instanceof Error ? err.message : err}`, 'error');
    }
  }

  async #copyOwnerLink() {
    const input = /** @type {HTMLInputElement} */ ($('#share-owner-url'));
    try {
      await navigator.clipboard.writeText(input.value);
      toast('Owner link copied: keep it private.');
    } catch {
      input.focus();
      input.select();
    }
  }

  /** Fills in the owner link in the share dialog (shown to the owner only). */
  fillOwnerLink() {
    const input = /** @type {HTMLInputElement} */ ($('#share-owner-url'));
    input.value = this.#key ? `${location.origin}/r/${this.#roomId}#owner=${encodeURIComponent(this.#key)}` : '';
  }
}
