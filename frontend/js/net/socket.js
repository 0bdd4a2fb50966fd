// A WebSocket that reconnects by itself with backoff. It knows nothing about drawing: it moves
// text and binary frames and reports its state ("connecting", "connected", "reconnecting",
// "offline", "closed").

/** Close codes after which reconnecting cannot help. */
const FINAL_CODES = new Set([4001, 4003, 4004, 4009]);

export class ReconnectingSocket extends EventTarget {
  /** @type {string} */ #url;
  /** @type {WebSocket | null} */ #ws = null;
  /** @type {number} */ #attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #timer;
  /** @type {boolean} */ #stopped = false;
  /** @type {string} */ state = 'connecting';

  /** @param {string} url absolute ws:// or wss:// URL */
  constructor(url) {
    super();
    this.#url = url;
    window.addEventListener('online', () => this.#retryNow());
    window.addEventListener('offline', () => this.#setState('offline'));
  }

  /** Opens the first connection. */
  start() {
    this.#connect();
  }

  /**
   * Sends a message object as JSON; returns false when not connected.
   * @param {object} msg
   */
  send(msg) {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  /** Stops for good. */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000, 'bye');
    this.#setState('closed');
  }

  /** @param {string} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  #connect() {
    clearTimeout(this.#timer);
    const ws = new WebSocket(this.#url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.addEventListener('open', () => {
      this.#attempt = 0;
      this.#setState('connected');
      this.dispatchEvent(new Event('open'));
    });
    ws.addEventListener('message', (event) => {
      this.dispatchEvent(new CustomEvent('message', { detail: event.data }));
    });
    ws.addEventListener('close', (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.dispatchEvent(new CustomEvent('close', { detail: { code: event.code, reason: event.reason } }));
      if (this.#stopped || FINAL_CODES.has(event.code)) {
        this.#setState('closed');
        return;
      }
      this.#scheduleRetry();
    });
  }

  #scheduleRetry() {
    this.#setState(navigator.onLine === false ? 'offline' : 'reconnecting');
    const base = Math.min(8000, 500 * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #retryNow() {
    if (this.#stopped || this.#ws) return;
    this.#connect();
  }
}
