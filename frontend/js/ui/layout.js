// Which layout the page has: the phone layout (a dock of tools at the bottom, a sheet for the
// rest, people in a drawer, the board fitted to the screen's width) or the desktop one (panels
// beside the board). styles/app.css uses the same media query.

/** The phone layout's media query: narrow screens, and short (landscape phone) ones. */
export const PHONE_QUERY = '(max-width: 760px), (max-height: 520px)';

const phone = window.matchMedia(PHONE_QUERY);

/** Whether the page shows the phone layout now. */
export function isPhone() {
  return phone.matches;
}

/** Calls `f` whenever the layout switches. @param {() => void} f */
export function onLayoutChange(f) {
  phone.addEventListener('change', f);
}
