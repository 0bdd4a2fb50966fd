// Short messages at the bottom of the screen.

/** @type {HTMLElement | null} */
let host = null;

/**
 * Shows a message for a few seconds.
 * @param {string} text
 * @param {'info' | 'error'} [kind]
 * @returns {HTMLElement} the message (its text may be changed while it shows)
 */
export function toast(text, kind = 'info') {
  if (!host) {
    host = document.createElement('div');
    host.className = 'toasts';
    host.setAttribute('role', 'status');
    host.setAttribute('aria-live', 'polite');
    document.body.append(host);
  }
  for (const old of host.children) {
    if (old.textContent === text) old.remove();
  }
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.textContent = text;
  host.append(el);
  setTimeout(() => el.remove(), 4000);
  return el;
}
