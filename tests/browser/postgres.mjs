// A PostgreSQL server of a browser test's own, for cluster mode: Debian's server binaries
// (installed by scripts/test), a fresh cluster in a temporary directory on a free loopback port,
// stopped at the end. As root the programs run as the `postgres` user, as PostgreSQL requires.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
