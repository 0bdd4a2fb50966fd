// Relay (Node): the second baseline server of the fan-out benchmark (benches/fanout.rs,
// scripts/bench). The same behaviour as benches/relay.rs on Node's `ws` package: every text
// message is forwarded, verbatim, to every other open socket; no parsing, no state, one send per
// message; Nagle off (`ws` sets TCP_NODELAY), no compression.
//
// Run by hand: `node benches/relay.mjs --addr 127.0.0.1:9000` (port 0 picks a free port), after
// `npm ci`. It prints `relay listening on http://ADDR` once it accepts connections. Routes:
// `GET /ws` (the WebSocket) and `GET /healthz`. On SIGINT or SIGTERM it prints how many messages
// it dropped because a socket had too much queued.

import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

/** Bytes a socket may have queued before further messages to it are dropped (about 1,024 stroke
 * messages, like the Rust relay's outbox). */
const MAX_BUFFERED = 256 * 1024;

/** Largest frame accepted from a client (inkroom's limit). */
const MAX_FRAME = 64 * 1024;

/** Reads `--addr HOST:PORT` (default 127.0.0.1:0).
 * @returns {{host: string, port: number}} */
function addrArg() {
  const i = process.argv.indexOf('--addr');
  const addr = i > 0 && process.argv[i + 1] ? process.argv[i + 1] : '127.0.0.1:0';
  const colon = addr.lastIndexOf(':');
  return { host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)) };
}

/** Messages dropped because the receiver had too much queued. */
let dropped = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
  } else {
    res.statusCode = 404;
    res.end();
  }
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME });

server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

wss.on('connection', (ws) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    for (const other of wss.clients) {
      if (other === ws || other.readyState !== WebSocket.OPEN) continue;
      if (other.bufferedAmount > MAX_BUFFERED) {
        dropped++;
        continue;
      }
      other.send(data, { binary: false });
    }
  });
});

const { host, port } = addrArg();
server.listen({ host, port, backlog: 4096 }, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  console.log(`relay listening on http://${host}:${bound}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`relay (node): ${dropped} messages dropped on full sockets`);
    process.exit(0);
  });
}
