import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './require-tool';

const run = promisify(execFile);

export interface TestDockerd {
  /** Path of the Engine's unix socket. */
  socketPath: string;
  /** Runs the docker CLI against this engine; resolves with stdout. */
  docker(args: string[], timeoutMs?: number): Promise<string>;
  /** Removes every container, stops the engine (bounded) and deletes its directories. */
  stop(): Promise<void>;
  /** Stops the engine as a host shutdown would (containers kept) and starts it again on the same data. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * Starts a private Docker engine in a temp dir (no bridge, no iptables, vfs storage: works without
 * privileges beyond root and without internet). Start one per suite in beforeAll and stop it in afterAll.
 */
export async function startDockerd(): Promise<TestDockerd> {
  const dockerd = requireTool('dockerd');
  const cli = requireTool('docker');
  const dir = mkdtempSync('/tmp/mh-dockerd-');
  const socketPath = join(dir, 'docker.sock');
  let child: ChildProcess | undefined;
  let exited = true;

  const docker = async (args: string[], timeoutMs = 60_000): Promise<string> => {
    const { stdout } = await run(cli, ['-H', `unix://${socketPath}`, ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  };

  const launch = async (): Promise<void> => {
    const log = openSync(join(dir, 'dockerd.log'), 'a');
    try {
      child = spawn(
        dockerd,
        [
          '--host',
          `unix://${socketPath}`,
          '--data-root',
          join(dir, 'data'),
          '--exec-root',
          join(dir, 'exec'),
          '--pidfile',
          join(dir, 'docker.pid'),
          '--bridge=none',
          '--iptables=false',
          '--ip6tables=false',
          '--storage-driver=vfs',
        ],
        { stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    exited = false;
    child.on('exit', () => (exited = true));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`dockerd exited during start-up (see ${join(dir, 'dockerd.log')})`);
      const answer = existsSync(socketPath)
        ? await docker(['version', '--format', '{{.Server.Version}}'], 5_000).catch(() => '')
        : '';
      if (answer) return;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  };

  /** SIGTERM, as at a host shutdown: dockerd stops the containers and remembers their state. */
  const halt = async (): Promise<void> => {
    if (exited || !child) return;
    child.kill('SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!exited && Date.now() < deadline) await sleep(100);
    if (!exited) child.kill('SIGKILL');
    while (!exited) await sleep(50);
  };

  const stop = async (): Promise<void> => {
    if (!exited) {
      const ids = await docker(['ps', '-aq'], 10_000).catch(() => '');
      if (ids) await docker(['rm', '-f', ...ids.split('\n')], 30_000).catch(() => '');
    }
    await halt();
    await unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  const restart = async (): Promise<void> => {
    await halt();
    await launch();
  };

  try {
    await launch();
  } catch (err) {
    await stop();
    throw err;
  }
  return { socketPath, docker, stop, restart };
}

/**
 * Builds an image from a directory tree (e.g. a busybox-static rootfs) with `docker import`, so tests never
 * need the internet. Returns the image id (`sha256:…`).
 */
export async function importTestImage(
  engine: TestDockerd,
  rootfs: string,
  tag: string,
  config: { entrypoint?: string[]; cmd?: string[]; env?: string[] } = {},
): Promise<string> {
  const tarball = `${rootfs}.tar`;
  await run(requireTool('tar'), ['-C', rootfs, '--numeric-owner', '-cf', tarball, '.'], { timeout: 60_000 });
  const changes: string[] = [];
  if (config.entrypoint) changes.push('--change', `ENTRYPOINT ${JSON.stringify(config.entrypoint)}`);
  if (config.cmd) changes.push('--change', `CMD ${JSON.stringify(config.cmd)}`);
  for (const e of config.env ?? []) changes.push('--change', `ENV ${e}`);
  try {
    return await engine.docker(['import', ...changes, tarball, tag], 120_000);
  } finally {
    rmSync(tarball, { force: true });
  }
}

/** dockerd leaves its network namespace file (and, after a hard kill, more) mounted under exec-root. */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    await run('umount', ['-l', mountPoint], { timeout: 10_000 }).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
