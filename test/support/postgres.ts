import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A fresh empty database on this server; returns its URL. */
  createDatabase(name: string): string;
  stop(): void;
}

function uidGid(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * Starts a throwaway PostgreSQL (Debian `postgresql`) in a temp dir on a free loopback port.
 * PostgreSQL refuses to run as root, so when we are root initdb and pg_ctl run as `postgres`.
 * Fails loudly when the binaries are missing: run .ci/install-system-packages.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const initdb = join(PG_BIN, 'initdb');
  const pgCtl = join(PG_BIN, 'pg_ctl');
  try {
    execFileSync(initdb, ['--version']);
  } catch {
    throw new Error(`PostgreSQL is not installed (${initdb}): run .ci/install-system-packages`);
  }
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'minerhaul-pg-'));
  const data = join(dir, 'data');
  const run = (cmd: string, args: string[]): void => {
    if (root)
      execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe', timeout: 60_000 });
    else execFileSync(cmd, args, { stdio: 'pipe', timeout: 60_000 });
  };
  if (root) {
    const { uid, gid } = uidGid('postgres');
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  run(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // Loopback TCP only, the socket in our dir, fsync off: a test cluster, not a durable one.
  writeFileSync(
    join(dir, 'postgres.conf.extra'),
    `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n`,
  );
  if (root) {
    const { uid, gid } = uidGid('postgres');
    chownSync(join(dir, 'postgres.conf.extra'), uid, gid);
  }
  execFileSync('sh', [
    '-c',
    `cat '${join(dir, 'postgres.conf.extra')}' >> '${join(data, 'postgresql.conf')}'`,
  ]);
  run(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      execFileSync(
        join(PG_BIN, 'psql'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', `CREATE DATABASE ${name}`],
        {
          stdio: 'pipe',
        },
      );
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
