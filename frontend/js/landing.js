// Entry point of the landing page: creates a board and lists boards opened before.

import { themeButton } from './ui/theme.js';

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

/** @typedef {{id: string, name: string, url: string}} Recent */

/** @param {Recent} board */
function remember(board) {
  const list = recent().filter((b) => b.id !== board.id);
  list.unshift(board);
  localStorage.setItem('inkroom.recent', JSON.stringify(list.slice(0, 20)));
}

/** @returns {Recent[]} */
function recent() {
  try {
    const list = JSON.parse(localStorage.getItem('inkroom.recent') ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

const boards = recent();
if (boards.length) {
  const section = $('.recent');
  const ul = /** @type {HTMLElement} */ (section.querySelector('ul'));
  for (const b of boards) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = b.url;
    a.textContent = b.name;
    li.append(a);
    ul.append(li);
  }
  section.hidden = false;
}
