// Light, dark or system theme, remembered in local storage. The CSS follows prefers-color-scheme
// unless <html data-theme> says otherwise.

const KEY = 'inkroom.theme';
const ORDER = /** @type {const} */ (['system', 'light', 'dark']);
/** @typedef {typeof ORDER[number]} Theme */

const LABEL = { system: 'System theme', light: 'Light theme', dark: 'Dark theme' };
const ICON = { system: '◐', light: '☀', dark: '☾' };

/** @returns {Theme} */
export function currentTheme() {
  const t = localStorage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

/** @param {Theme} theme */
export function applyTheme(theme) {
  if (theme === 'system') {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem(KEY);
  } else {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(KEY, theme);
  }
}

/**
 * Makes `button` cycle system → light → dark, showing the current choice.
 * @param {HTMLButtonElement} button
 */
export function themeButton(button) {
  const show = () => {
    const t = currentTheme();
    const next = ORDER[(ORDER.indexOf(t) + 1) % ORDER.length];
    button.textContent = ICON[t];
    button.dataset.theme = t;
    button.title = `${LABEL[t]} (switch to ${LABEL[next].toLowerCase()})`;
    button.setAttribute('aria-label', button.title);
  };
  button.addEventListener('click', () => {
    applyTheme(ORDER[(ORDER.indexOf(currentTheme()) + 1) % ORDER.length]);
    show();
  });
  show();
}

applyTheme(currentTheme());
