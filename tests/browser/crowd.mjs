// Many WebSocket members from Node, for big-room tests. Node 20 has no WebSocket client, so this
// is a small one over node:http's upgrade: masked text frames out; text, binary, ping and close
// frames in (answering pings, reading everything so that the server never sees a slow reader).

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';

/** A WebSocket member speaking JSON; emits 'message' (batches unpacked) and 'close' (code). */
export class RawSocket extends EventEmitter {
  /** @type {import('node:net').Socket} */ #socket;
  #buffer = Buffer.alloc(0);
  /** Payloads of a fragmented message so far. @type {Buffer[]} */
  #parts = [];
  /** Opcode of the message being assembled (1 text, 2 binary). */
  #partsKind = 0;
  /** @type {number | null} */
  closeCode = null;

  /** @param {import('node:net').Socket} socket @param {Buffer} head bytes already read */
  constructor(socket, head) {
    super();
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#read(chunk));
    socket.on('close', () => {
      this.closeCode ??= 1006;
      this.emit('close', this.closeCode);
    });
    socket.on('error', () => {});
    if (head.length) queueMicrotask(() => this.#read(head));
  }

  /**
   * Opens `ws://` URL `url` (no Origin header: not a browser page).
   * @param {string} url
   * @returns {Promise<RawSocket>}
   */
  static connect(url) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        agent: false,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      req.on('upgrade', (_res, socket, head) => resolve(new RawSocket(socket, head)));
      req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends a message object as a JSON text frame. @param {object} msg */
  send(msg) {
    this.#frame(1, Buffer.from(JSON.stringify(msg)));
  }

  /**
   * Resolves with the first message after now that `check` accepts.
   * @param {(msg: any) => boolean} check
   * @param {string} what
   * @param {number} [ms]
   * @returns {Promise<any>}
   */
  waitFor(check, what, ms = 5000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', onMessage);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const onMessage = (/** @type {any} */ msg) => {
        if (!check(msg)) return;
        clearTimeout(timer);
        this.off('message', onMessage);
        resolve(msg);
      };
      this.on('message', onMessage);
    });
  }

  /** Closes normally (1000) and resolves once the socket is gone. */
  close() {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve(undefined);
      this.#socket.once('close', resolve);
      this.#frame(8, Buffer.from([0x03, 0xe8]));
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }

  /** Writes one masked frame. @param {number} opcode @param {Buffer} payload */
  #frame(opcode, payload) {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    const len = payload.length;
    const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    if (len < 126) head[1] = 0x80 | len;
    else if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
    this.#socket.write(Buffer.concat([head, mask, body]));
  }

  /** @param {Buffer} chunk */
  #read(chunk) {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b[1] & 0x80) at += 4; // servers never mask, but skip a mask key if one came
      if (b.length < at + len) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const payload = b.subarray(at, at + len);
      this.#buffer = b.subarray(at + len);
      this.#frameIn(fin, opcode, payload);
    }
  }

  /** @param {boolean} fin @param {number} opcode @param {Buffer} payload */
  #frameIn(fin, opcode, payload) {
    if (opcode === 9) return this.#frame(10, Buffer.from(payload));
    if (opcode === 8) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.#socket.end();
      return;
    }
    if (opcode === 1 || opcode === 2 || opcode === 0) {
      this.#parts.push(Buffer.from(payload));
      if (opcode !== 0) this.#partsKind = opcode;
      if (!fin) return;
      const data = Buffer.concat(this.#parts);
      const kind = this.#partsKind;
      this.#parts = [];
      if (kind !== 1) return; // tiles: not needed here
      const msg = JSON.parse(data.toString('utf8'));
      for (const m of msg.type === 'batch' ? msg.messages : [msg]) this.emit('message', m);
    }
  }
}

/**
 * Connects `count` viewers named `${prefix} 001`… to a room and resolves once each has its
 * `welcome`; they read and answer pings until closed.
 * @param {string} base server URL (http://…)
 * @param {string} roomId
 * @param {number} count
 * @param {string} prefix
 */
export async function connectViewers(base, roomId, count, prefix) {
  const url = `${base.replace(/^http/, 'ws')}/api/rooms/${roomId}/ws`;
  /** @type {RawSocket[]} */
  const sockets = [];
  // A few dozen at a time: quick, without a burst of hundreds of handshakes at once.
  for (let start = 0; start < count; start += 40) {
    const n = Math.min(40, count - start);
    const batch = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const ws = await RawSocket.connect(url);
      const welcome = ws.waitFor((m) => m.type === 'welcome', 'welcome');
      ws.send({ type: 'hello', name: `${prefix} ${String(start + i + 1).padStart(3, '0')}`, batch: true });
      await welcome;
      return ws;
    }));
    sockets.push(...batch);
  }
  return sockets;
}
