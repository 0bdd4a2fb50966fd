// Entry point of the landing page: creates a board and lists boards opened before (ui/boards.js).

import { themeButton } from './ui/theme.js';
import { rememberBoard, showBoards } from './ui/boards.js';

/** @param {string} sel */
const $ = (sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

themeButton(/** @type {HTMLButtonElement} */ ($('#theme')));

const form = /** @type {HTMLFormElement} */ ($('#new-board'));
const errorBox = $('.form-error');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  errorBox.hidden = true;
  const data = new FormData(form);
  const [width, height] = String(data.get('size')).split('x').map(Number);
  const body = { width, height, background: String(data.get('background')) };
  const name = String(data.get('name') ?? '').trim();
  if (name) Object.assign(body, { name });
  const button = /** @type {HTMLButtonElement} */ ($('#create'));
  button.disabled = true;
  try {
    const res = await fetch('/api/rooms', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
    remember({ id: json.id, name: json.name, url: json.edit_url });
    // The creator owns the board: the page keeps the owner key from the fragment (never sent
    // in a URL) and shows the owner link in its Share dialog.
    const owner = json.owner_key ? `&owner=${encodeURIComponent(json.owner_key)}` : '';
    location.assign(`${json.edit_url}${owner}`);
  } catch (err) {
    errorBox.textContent = `Could not create the board: ${err instanceof Error ? err.message : err}`;
    errorBox.hidden = false;
    button.disabled = false;
  }
});

/** @param {{id: string, name: string, url: string}} board */
function remember(board) {
  rememberBoard(board.id, board.name, new URLSearchParams(board.url.split('#')[1] ?? '').get('key'));
}

showBoards($('.recent'));
