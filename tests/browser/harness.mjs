// Shared helpers for browser tests: start the real server binary on a free port, launch Debian's
// Chromium through playwright-core, and read pixels the way a user would see them.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'target', 'browser-artifacts');

/**
 * Starts `inkroom` (by default on 127.0.0.1:0 with a fresh data dir) and resolves once it prints
 * its address.
 * @param {{dataDir?: string, addr?: string, args?: string[], log?: string}} [options] `args`: more
 *   flags; `log`: the server's log filter
 * @returns {Promise<{url: string, dataDir: string, stop: () => Promise<void>, kill: () => Promise<void>}>}
 */
export async function startServer({ dataDir = mkdtempSync(join(tmpdir(), 'inkroom-browser-')), addr = '127.0.0.1:0', args = [], log = process.env.INKROOM_LOG ?? 'warn' } = {}) {
  const bin = process.env.INKROOM_BIN ?? join(ROOT, 'target', 'debug', 'inkroom');
  const child = spawn(bin, ['--addr', addr, '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, INKROOM_LOG: log },
  });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {
    url,
    dataDir,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.on('exit', () => done());
        child.kill('SIGTERM');
      }),
    // The process dies at once, as in a crash.
    kill: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.on('exit', () => done());
        child.kill('SIGKILL');
      }),
  };
}

/**
 * Launches headless Chromium from /usr/bin/chromium (never a downloaded browser). Playwright
 * gives every launch a fresh, empty user data dir.
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Creates a room through the API.
 * @param {string} base server URL
 * @param {object} [body]
 */
export async function createRoom(base, body = {}) {
  const res = await fetch(`${base}/api/rooms`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create room: HTTP ${res.status}`);
  return res.json();
}

/**
 * Opens a board page in a fresh context and waits until it is synced.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} name display name stored before load
 * @param {{width: number, height: number}} [viewport]
 * @param {import('playwright-core').BrowserContextOptions} [options] more context options (hasTouch…)
 */
export async function openBoard(browser, url, name, viewport = { width: 1100, height: 700 }, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  await context.addInitScript((n) => localStorage.setItem('inkroom.name', n), name);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name}] page error:`, err));
  await page.goto(url);
  await page.waitForSelector('body[data-synced]');
  return page;
}

/**
 * Page coordinates of a canvas pixel.
 * @param {import('playwright-core').Page} page
 * @param {number} x
 * @param {number} y
 */
export async function toPage(page, x, y) {
  return page.evaluate(
    ([cx, cy]) => {
      const board = /** @type {HTMLElement} */ (document.querySelector('.board'));
      const base = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-base'));
      const r = board.getBoundingClientRect();
      return { x: r.left + (cx * r.width) / base.width, y: r.top + (cy * r.height) / base.height };
    },
    [x, y],
  );
}

/**
 * Draws a polyline with the mouse through canvas-pixel points.
 * @param {import('playwright-core').Page} page
 * @param {Array<[number, number]>} points
 * @param {{release?: boolean}} [opts]
 */
export async function drawWithMouse(page, points, { release = true } = {}) {
  const first = await toPage(page, ...points[0]);
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    const q = await toPage(page, ...p);
    await page.mouse.move(q.x, q.y, { steps: 4 });
  }
  if (release) await page.mouse.up();
}

/**
 * RGBA of one pixel of a board layer ('base' or 'live').
 * @param {import('playwright-core').Page} page
 * @param {'base' | 'live'} layer
 * @param {number} x
 * @param {number} y
 * @returns {Promise<number[]>}
 */
export async function pixel(page, layer, x, y) {
  return page.evaluate(
    ([l, px, py]) => {
      const c = /** @type {HTMLCanvasElement} */ (document.querySelector(`canvas.board-${l}`));
      const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
      return Array.from(ctx.getImageData(Number(px), Number(py), 1, 1).data);
    },
    [layer, x, y],
  );
}

/**
 * Polls until `check` resolves truthy or the time runs out.
 * @param {() => Promise<unknown>} check
 * @param {string} what
 * @param {number} [ms]
 */
export async function eventually(check, what, ms = 5000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Directory for screenshots, created on demand. */
export function artifacts() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/**
 * Registers `before`/`after` hooks that start a server and a browser for the test file, and
 * returns live handles to them (`ctx.server` may be replaced, e.g. by a restart).
 * @param {typeof import('node:test').before} before
 * @param {typeof import('node:test').after} after
 */
export function useServerAndBrowser(before, after) {
  /** @type {{server: Awaited<ReturnType<typeof startServer>>, browser: import('playwright-core').Browser}} */
  const ctx = /** @type {any} */ ({});
  before(async () => {
    ctx.server = await startServer();
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

/**
 * Sends raw input through the Chrome DevTools Protocol: touches (pointerType "touch") and stylus
 * events (pointerType "pen"), which playwright's mouse cannot make.
 * @param {import('playwright-core').Page} page
 */
export async function rawInput(page) {
  const cdp = await page.context().newCDPSession(page);
  /** @param {Array<{x: number, y: number, id: number}>} points */
  const touch = (/** @type {string} */ type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
  return {
    /** @param {Array<{x: number, y: number, id: number}>} points */
    touchStart: (points) => touch('touchStart', points),
    /** @param {Array<{x: number, y: number, id: number}>} points */
    touchMove: (points) => touch('touchMove', points),
    /** Lifts every finger. */
    touchEnd: () => touch('touchEnd', []),
    /** @param {'mousePressed' | 'mouseMoved' | 'mouseReleased'} type @param {number} x @param {number} y */
    pen: (type, x, y) => cdp.send('Input.dispatchMouseEvent', {
      type, x, y, button: 'left', buttons: type === 'mouseReleased' ? 0 : 1, clickCount: 1, pointerType: 'pen', force: 0.5,
    }),
  };
}

/**
 * Decodes an 8-bit, non-interlaced PNG (RGB, RGBA, grey or grey+alpha) into RGBA pixels.
 * @param {Buffer} png
 * @returns {{width: number, height: number, at: (x: number, y: number) => number[]}}
 */
export function decodePng(png) {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  if (!channels) throw new Error(`unsupported color type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[y * stride + i - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? out[(y - 1) * stride + i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 255;
    }
  }
  return {
    width,
    height,
    at: (x, y) => {
      const o = y * stride + x * channels;
      const px = Array.from(out.subarray(o, o + channels));
      if (channels === 1) return [px[0], px[0], px[0], 255];
      if (channels === 2) return [px[0], px[0], px[0], px[1]];
      if (channels === 3) return [...px, 255];
      return px;
    },
  };
}

/**
 * The board's view as the page shows it: the visible canvas rectangle and the zoom.
 * @param {import('playwright-core').Page} page
 */
export async function viewOf(page) {
  return page.evaluate(() => {
    const stage = /** @type {HTMLElement} */ (document.querySelector('.stage')).getBoundingClientRect();
    const board = /** @type {HTMLElement} */ (document.querySelector('.board')).getBoundingClientRect();
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-base'));
    const k = board.width / c.width; // CSS px per canvas px
    return {
      x: (stage.left - board.left) / k,
      y: (stage.top - board.top) / k,
      width: stage.width / k,
      height: stage.height / k,
      zoom: document.querySelector('#zoom-fit')?.textContent ?? '',
    };
  });
}

/**
 * Zooms with Ctrl + wheel (a mouse wheel's notches, or a trackpad pinch) at a page point.
 * @param {import('playwright-core').Page} page
 * @param {number} x
 * @param {number} y
 * @param {number} deltaY per event: -100 is one notch in (negative zooms in)
 * @param {number} [times]
 */
export async function ctrlWheel(page, x, y, deltaY, times = 1) {
  await page.mouse.move(x, y);
  await page.keyboard.down('Control');
  for (let i = 0; i < times; i++) await page.mouse.wheel(0, deltaY);
  await page.keyboard.up('Control');
}

/**
 * The room's seq as the server reports it.
 * @param {string} base server URL
 * @param {string} id room id
 * @returns {Promise<number>}
 */
export async function roomSeq(base, id) {
  return (await (await fetch(`${base}/api/rooms/${id}`)).json()).seq;
}

/**
 * The zoom level the page shows, in percent of actual size.
 * @param {import('playwright-core').Page} page
 */
export async function zoomLevel(page) {
  return Number.parseInt((await page.locator('#zoom-fit').textContent()) ?? '0', 10);
}

/**
 * Whether anything is drawn on the board's live layer (strokes and shapes in progress).
 * @param {import('playwright-core').Page} page
 */
export async function liveInk(page) {
  return page.evaluate(() => {
    const c = /** @type {HTMLCanvasElement} */ (document.querySelector('canvas.board-live'));
    const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
    return false;
  });
}
