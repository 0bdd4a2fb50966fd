// "Your boards": the boards opened in this browser (kept in localStorage, never sent anywhere),
// newest first, and the landing page's list of them: a thumbnail, the name, when it was last
// opened, the role you have there (owner, edit, view), a button to remove the entry, and a
// note in place of the link for a board that was deleted.

const KEY = 'inkroom.recent';
const MAX = 20;
/** Thumbnail scale, the smallest the server makes: a 1920 px board becomes 192 px wide. */
const THUMB_SCALE = 0.1;

/**
 * One board opened here. `openedAt`: milliseconds since the epoch (absent in entries from
 * before it was kept). `role`: what the kept link lets you do.
 * @typedef {{id: string, name: string, url: string, openedAt?: number, role?: 'edit' | 'view'}} Recent
 */

/** The boards opened here, newest first. @returns {Recent[]} */
export function recentBoards() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    if (!Array.isArray(list)) return [];
    return list
      .filter((b) => b && typeof b.id === 'string' && typeof b.url === 'string')
      .sort((a, b) => (b.openedAt ?? 0) - (a.openedAt ?? 0));
  } catch {
    return [];
  }
}

/** @param {Recent[]} list */
function save(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  } catch {
    // Storage full or disabled: the list is a convenience.
  }
}

/**
 * Puts a board first, opened now, keeping an edit link seen before when this visit has none.
 * @param {string} id
 * @param {string} name
 * @param {string | null} key the edit key of this visit's link, if any
 */
export function rememberBoard(id, name, key) {
  const boards = recentBoards();
  const old = boards.find((b) => b.id === id);
  const url = key ? `/r/${id}#key=${encodeURIComponent(key)}` : old?.url ?? `/r/${id}`;
  const role = url.includes('#key=') ? 'edit' : 'view';
  save([{ id, name, url, openedAt: Date.now(), role }, ...boards.filter((b) => b.id !== id)]);
}

/** Removes a board from the list. @param {string} id */
export function forgetBoard(id) {
  save(recentBoards().filter((b) => b.id !== id));
}

/**
 * The role shown for a board: owner when this browser holds its owner key (kept by the owner's
 * controls under `inkroom.owner.<id>`), otherwise what the kept link allows.
 * @param {Recent} b
 */
export function roleOf(b) {
  try {
    if (localStorage.getItem(`inkroom.owner.${b.id}`)) return 'owner';
  } catch {
    // No storage: fall back to the link.
  }
  return b.role ?? (b.url.includes('#key=') ? 'edit' : 'view');
}

/** "just now", "5 minutes ago", "3 days ago", or a date. @param {number | undefined} t @param {number} now */
export function openedText(t, now = Date.now()) {
  if (!t) return 'opened before';
  const s = Math.max(0, Math.round((now - t) / 1000));
  const ago = (/** @type {number} */ n, /** @type {string} */ unit) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return 'just now';
  if (s < 3600) return ago(Math.floor(s / 60), 'minute');
  if (s < 86400) return ago(Math.floor(s / 3600), 'hour');
  if (s < 86400 * 30) return ago(Math.floor(s / 86400), 'day');
  return new Date(t).toLocaleDateString();
}

/**
 * Fills the landing page's list and shows it when it has entries.
 * @param {HTMLElement} section holds the `<ul>`
 */
export function showBoards(section) {
  const ul = /** @type {HTMLElement} */ (section.querySelector('ul'));
  const boards = recentBoards();
  ul.replaceChildren(...boards.map((b) => item(b, () => {
    forgetBoard(b.id);
    showBoards(section);
  })));
  section.hidden = boards.length === 0;
}

/**
 * One entry; its thumbnail and link are replaced by a note if the board no longer exists.
 * @param {Recent} b @param {() => void} remove
 */
function item(b, remove) {
  const li = document.createElement('li');
  li.className = 'board-entry';
  li.dataset.id = b.id;
  const thumb = document.createElement('img');
  thumb.className = 'board-thumb';
  thumb.alt = '';
  thumb.src = `/api/rooms/${encodeURIComponent(b.id)}/canvas.png?scale=${THUMB_SCALE}`;
  const a = document.createElement('a');
  a.className = 'board-name';
  a.href = b.url;
  a.textContent = b.name || 'Untitled board';
  const meta = document.createElement('span');
  meta.className = 'board-meta';
  const role = document.createElement('span');
  role.className = 'board-role';
  role.textContent = roleOf(b);
  const when = document.createElement('span');
  when.className = 'board-when';
  when.textContent = openedText(b.openedAt);
  if (b.openedAt) when.title = new Date(b.openedAt).toLocaleString();
  meta.append(role, ' · ', when);
  const x = document.createElement('button');
  x.type = 'button';
  x.className = 'btn icon board-remove';
  x.textContent = '×';
  x.title = `Remove ${a.textContent} from this list`;
  x.setAttribute('aria-label', x.title);
  x.addEventListener('click', remove);
  const text = document.createElement('span');
  text.className = 'board-text';
  text.append(a, meta);
  li.append(thumb, text, x);
  // A thumbnail that fails may be a deleted board: ask, and say so instead of linking.
  thumb.addEventListener('error', async () => {
    const res = await fetch(`/api/rooms/${encodeURIComponent(b.id)}`).catch(() => null);
    if (res?.status !== 404) return;
    li.classList.add('deleted');
    const note = document.createElement('span');
    note.className = 'board-name board-deleted';
    note.textContent = `${a.textContent}: this board was deleted`;
    a.replaceWith(note);
    thumb.remove();
  }, { once: true });
  return li;
}
