// Steady hand: smoothing of freehand strokes before they are drawn and sent, so that mouse and
// cheap-tablet handwriting looks clean. The pointer's last few positions are averaged (which
// cancels a hand's back-and-forth shake), and the pen follows that average on a string (a "lazy
// brush"): it moves only when the average is further away than the string's length, and then
// just enough to keep up, so a wobble smaller than the string never reaches the line; each step
// is also eased part of the way. When the stroke ends, it catches up with the pointer so the
// line ends where the pen lifted. The setting (off to strong) lives in the pen options and is remembered
// in the browser.

const KEY = 'inkroom.steady';

/** Pointer positions averaged, by level: off, light, medium, strong. */
const WINDOW = [1, 2, 3, 4];
/** The string's length in canvas pixels, by level. */
const STRING = [0, 2, 4, 8];
/** How far each step eases toward where the string pulls, by level. */
const FOLLOW = [1, 0.8, 0.65, 0.5];
/** Points closer than this (canvas px) to the last one sent add nothing and are skipped. */
const MIN_STEP = 0.75;
/** Catch-up points at the end of a stroke, at most. */
const CATCH_UP = 8;

/** The remembered level, 0 (off) to 3 (strong). */
export function steadyLevel() {
  const n = Number(localStorage.getItem(KEY) ?? 0);
  return Number.isInteger(n) && n >= 0 && n < FOLLOW.length ? n : 0;
}

/** Remembers the level. @param {number} level */
export function setSteadyLevel(level) {
  localStorage.setItem(KEY, String(Math.max(0, Math.min(FOLLOW.length - 1, Math.round(level)))));
}

/**
 * Connects the pen options' `<select>` to the remembered level.
 * @param {HTMLSelectElement | null} select
 */
export function bindSteadySelect(select) {
  if (!select) return;
  select.value = String(steadyLevel());
  select.addEventListener('change', () => setSteadyLevel(Number(select.value)));
}

/** Smooths one stroke's `[x, y, pressure, ...]` points. */
export class Steady {
  #follow;
  #string;
  #window;
  /** The last pointer positions, `[x, y]` pairs, at most `#window`. @type {number[][]} */
  #recent = [];
  /** The last smoothed point. */
  #x; #y; #p;
  /** The last pointer position (the stroke ends there). */
  #rawX; #rawY; #rawP;

  /**
   * @param {number} level 0 (off) to 3 (strong)
   * @param {number[]} first the stroke's first point, drawn as is
   */
  constructor(level, first) {
    this.#follow = FOLLOW[level] ?? 1;
    this.#string = STRING[level] ?? 0;
    this.#window = WINDOW[level] ?? 1;
    this.#recent = [[first[0], first[1]]];
    [this.#x, this.#y, this.#p] = first;
    [this.#rawX, this.#rawY, this.#rawP] = first;
  }

  /** Whether smoothing is off (points pass through untouched). */
  get off() {
    return this.#string <= 0;
  }

  /** The smoothed points for new pointer points. @param {number[]} points */
  push(points) {
    if (this.off) return points;
    const out = [];
    const k = this.#follow;
    for (let i = 0; i + 2 < points.length; i += 3) {
      [this.#rawX, this.#rawY, this.#rawP] = [points[i], points[i + 1], points[i + 2]];
      this.#recent.push([points[i], points[i + 1]]);
      if (this.#recent.length > this.#window) this.#recent.shift();
      const n = this.#recent.length;
      const ax = this.#recent.reduce((sum, q) => sum + q[0], 0) / n;
      const ay = this.#recent.reduce((sum, q) => sum + q[1], 0) / n;
      const d = Math.hypot(ax - this.#x, ay - this.#y);
      if (d <= this.#string) continue;
      // Pulled to the string's length from the average, eased part of the way.
      const pull = ((d - this.#string) / d) * k;
      const x = this.#x + (ax - this.#x) * pull;
      const y = this.#y + (ay - this.#y) * pull;
      const p = this.#p + (points[i + 2] - this.#p) * k;
      if (Math.hypot(x - this.#x, y - this.#y) < MIN_STEP) continue;
      [this.#x, this.#y, this.#p] = [x, y, p];
      out.push(round(x), round(y), round(p));
    }
    return out;
  }

  /** Points that bring the stroke to where the pointer lifted (none when off). */
  end() {
    if (this.off) return [];
    const dx = this.#rawX - this.#x;
    const dy = this.#rawY - this.#y;
    const n = Math.min(CATCH_UP, Math.ceil(Math.hypot(dx, dy) / 4));
    const out = [];
    for (let i = 1; i <= n; i++) {
      const t = i / n;
      out.push(round(this.#x + dx * t), round(this.#y + dy * t), round(this.#p + (this.#rawP - this.#p) * t));
    }
    [this.#x, this.#y, this.#p] = [this.#rawX, this.#rawY, this.#rawP];
    return out;
  }
}

/** @param {number} v */
function round(v) {
  return Math.round(v * 100) / 100;
}
