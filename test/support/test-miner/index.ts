import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from '../require-tool';

export { freePort } from '../free-port';

/** The test miner's script (busybox sh + httpd; see miner.sh for its switches). */
export const TEST_MINER_SCRIPT = join(__dirname, 'miner.sh');

export interface TestMinerOptions {
  version: string;
  /** Serve no /health (an http health check then fails). */
  failHealth?: boolean;
  /** Exit 3 on the first N starts (counted in the data directory). */
  crashTimes?: number;
  /** Exit 4 after this many seconds of serving. */
  exitAfterSeconds?: number;
  /** Add a static busybox and /bin/sh so the tree is a complete rootfs (bubblewrap full mode, Docker). */
  rootfs?: boolean;
}

/**
 * Writes a release tree for the test miner into `dir`: `opt/miner/{bin/miner,VERSION,…}` as the builder's
 * slim images lay it out, plus a busybox rootfs when asked.
 */
export function writeTestMinerTree(dir: string, options: TestMinerOptions): string {
  const prefix = join(dir, 'opt', 'miner');
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  copyFileSync(TEST_MINER_SCRIPT, join(prefix, 'bin', 'miner'));
  writeFileSync(join(prefix, 'VERSION'), `${options.version}\n`);
  if (options.failHealth) writeFileSync(join(prefix, 'FAIL_HEALTH'), '1\n');
  if (options.crashTimes !== undefined) writeFileSync(join(prefix, 'CRASH_TIMES'), `${options.crashTimes}\n`);
  if (options.exitAfterSeconds !== undefined) {
    writeFileSync(join(prefix, 'EXIT_AFTER'), `${options.exitAfterSeconds}\n`);
  }
  if (options.rootfs) {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    copyFileSync(requireTool('busybox'), join(dir, 'bin', 'busybox'));
    symlinkSync('busybox', join(dir, 'bin', 'sh'));
    for (const d of ['tmp', 'proc', 'dev', 'etc', 'var/lib/miner'])
      mkdirSync(join(dir, d), { recursive: true });
  }
  return dir;
}

/** The image config the test miner runs with. */
export function testMinerConfig(port: number): {
  entrypoint: string[];
  cmd: string[];
  env: string[];
} {
  return {
    entrypoint: ['/opt/miner/bin/miner'],
    cmd: [],
    env: [`MINER_PORT=${port}`, 'MINER_DATA=/var/lib/miner'],
  };
}

/** GET a test miner path; undefined when nothing answers. */
export async function minerGet(
  port: number,
  path: string,
): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.text()).trim() };
  } catch {
    return undefined;
  }
}

/** Polls /version until it reports `version` (bounded); returns what was last seen. */
export async function waitForMinerVersion(
  port: number,
  version: string,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    const res = await minerGet(port, '/version');
    seen = res?.status === 200 ? res.body : '';
    if (seen === version) return seen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
}
