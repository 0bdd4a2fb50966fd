// The servers a cluster-mode browser test runs of its own: PostgreSQL (Debian's server binaries,
// installed by scripts/test; a fresh cluster in a temporary directory on a free loopback port,
// stopped at the end; as root the programs run as the `postgres` user, as PostgreSQL requires)
// and Redis (`redis-server`, also from scripts/test; nothing saved to disk).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, startServer } from './harness.mjs';

/** The newest installed PostgreSQL's bin directory. */
function binDir() {
  const base = '/usr/lib/postgresql';
  const found = existsSync(base)
    ? readdirSync(base).map((v) => join(base, v, 'bin')).filter((d) => existsSync(join(d, 'initdb'))).sort()
    : [];
  const bin = found.pop();
  if (!bin) throw new Error("PostgreSQL's server is not installed: run scripts/test, which installs it");
  return bin;
}

/** A free loopback port. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts a server; resolves to its `postgres://` URL and a stop function.
 * @returns {Promise<{url: string, stop: () => void}>}
 */
export async function startPostgres() {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'inkroom-browser-pg-'));
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  /** @param {string} program @param {string[]} args */
  const run = (program, args) =>
    root
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { stdio: 'ignore' })
      : execFileSync(join(bin, program), args, { stdio: 'ignore' });
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-A', 'trust', '-U', 'inkroom', '--no-sync', '-E', 'UTF8', '-D', data]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  run('pg_ctl', ['-w', '-t', '60', '-o', options, '-l', join(dir, 'log'), '-D', data, 'start']);
  return {
    url: `postgres://inkroom@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run('pg_ctl', ['-w', '-m', 'immediate', '-D', data, 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Starts a Redis server; resolves to its `redis://` URL and a stop function.
 * @returns {Promise<{url: string, stop: () => void}>}
 */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'inkroom-browser-redis-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  /** @type {Error | null} */
  let failed = null;
  child.on('error', (e) => { failed = e; });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (failed) throw new Error(`cannot start redis-server (${failed}): run scripts/test, which installs it`);
    const open = await new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error('redis-server did not listen within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}/`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Two inkroom nodes A and B in cluster mode on a PostgreSQL of their own (and, with `bus`, a
 * Redis), each given `args` too, and a browser; `stop` ends them all (so does a failed start).
 * @param {{bus?: boolean, args?: string[]}} options
 */
export async function startCluster({ bus = false, args = [] } = {}) {
  /** @type {(() => Promise<void> | void)[]} */
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const pg = await startPostgres();
    stops.push(pg.stop);
    const redis = bus ? await startRedis() : null;
    if (redis) stops.push(redis.stop);
    const all = ['--store', pg.url, ...(redis ? ['--bus', redis.url] : []), ...args];
    const a = await startServer({ args: all });
    stops.push(() => a.stop());
    const b = await startServer({ args: all });
    stops.push(() => b.stop());
    const browser = await launchBrowser();
    stops.push(() => browser.close());
    return { a, b, browser, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
