import { posix } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { DEFAULT_DATA_MOUNT, DEFAULT_SLIM_PREFIX, type MinerConfig } from './miner-runtime';

/** What a host path is, as far as building the sandbox goes (injected so the builder stays pure). */
export type HostPathKind =
  { type: 'dir' } | { type: 'file' } | { type: 'symlink'; target: string } | undefined;

export interface BwrapArgsInput {
  mode: 'slim' | 'full';
  releaseDir: string;
  config: MinerConfig;
  /** Persistent, read-write data directory on the host. */
  dataDir: string;
  dataMount?: string;
  slimPrefix?: string;
  /** Host devices the miner needs (e.g. `/dev/ttyUSB0`); bound only when present. */
  devices?: string[];
  /** Inspects host paths (slim mode reads the host's /lib layout; full mode checks the rootfs). */
  hostPath: (path: string) => HostPathKind;
}

/** Always first: bwrap started as root keeps every capability unless told otherwise (protocol-reference §6.2). */
export const BWRAP_ISOLATION = [
  '--unshare-all',
  '--share-net',
  '--new-session',
  '--die-with-parent',
  '--cap-drop',
  'ALL',
] as const;

/** Top-level host directories that may be real directories or merged-/usr symlinks (§6.4 (b)). */
const SLIM_ROOT_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Read-only host files the host runtime needs (TLS roots, name resolution, dynamic linker cache). */
const SLIM_ETC = [
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/ld.so.cache',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The bwrap argument vector (without the program name) for a release: slim mode binds the release's
 * `/opt/miner` over the host's read-only runtime (§6.4 (b)); full mode runs the release's rootfs as `/`
 * (§6.4 (a)). Filesystem options apply in order, so the root comes first and the data directory last.
 */
export function buildBwrapArgs(input: BwrapArgsInput): string[] {
  const dataMount = absolute(input.dataMount ?? DEFAULT_DATA_MOUNT, 'dataMount');
  const args: string[] = [...BWRAP_ISOLATION];
  if (input.mode === 'slim') {
    const prefix = absolute(input.slimPrefix ?? DEFAULT_SLIM_PREFIX, 'slimPrefix');
    args.push('--ro-bind', '/usr', '/usr');
    for (const dir of SLIM_ROOT_DIRS) {
      const kind = input.hostPath(dir);
      if (kind?.type === 'symlink') args.push('--symlink', kind.target, dir);
      else if (kind?.type === 'dir') args.push('--ro-bind', dir, dir);
    }
    for (const path of SLIM_ETC) args.push('--ro-bind-try', path, path);
    args.push('--ro-bind', posix.join(input.releaseDir, prefix), prefix);
  } else {
    args.push('--ro-bind', input.releaseDir, '/');
    // resolv.conf and hosts can only be bound over files that exist in the read-only rootfs.
    for (const path of ['/etc/resolv.conf', '/etc/hosts']) {
      if (input.hostPath(posix.join(input.releaseDir, path))?.type === 'file') {
        args.push('--ro-bind-try', path, path);
      }
    }
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  for (const device of input.devices ?? []) args.push('--dev-bind-try', device, device);
  args.push('--bind', input.dataDir, dataMount);

  args.push('--clearenv');
  const env = input.config.env.some((e) => e.startsWith('PATH='))
    ? input.config.env
    : [DEFAULT_PATH, ...input.config.env];
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq <= 0)
      throw new MinerhaulError('E_CONFIG', `invalid environment entry '${entry}' (expected KEY=VALUE)`);
    args.push('--setenv', entry.slice(0, eq), entry.slice(eq + 1));
  }
  const workingDir =
    input.config.workingDir || (input.mode === 'slim' ? (input.slimPrefix ?? DEFAULT_SLIM_PREFIX) : '/');
  args.push('--chdir', workingDir);

  const command = [...input.config.entrypoint, ...input.config.cmd];
  if (command.length === 0)
    throw new MinerhaulError('E_CONFIG', 'the image config has neither entrypoint nor cmd');
  args.push('--', ...command);
  return args;
}

/** Mount points full mode needs inside the read-only rootfs (created by the runtime before start). */
export function fullModeMountPoints(dataMount = DEFAULT_DATA_MOUNT): string[] {
  return ['/proc', '/dev', '/tmp', absolute(dataMount, 'dataMount')];
}

function absolute(path: string, what: string): string {
  const normal = posix.normalize(path);
  // `..` is refused even where normalisation would absorb it: such a path is a mistake, not a plan.
  if (!posix.isAbsolute(normal) || normal === '/' || path.split('/').includes('..')) {
    throw new MinerhaulError('E_CONFIG', `${what} must be an absolute path below / (got '${path}')`);
  }
  return normal.replace(/\/+$/, '');
}

/**
 * Parses the OCI `user` field for bubblewrap: numeric `uid[:gid]` only, because resolving a name would
 * mean trusting the release's /etc/passwd on the host side.
 */
export function parseNumericUser(user: string | undefined): { uid: number; gid: number } | undefined {
  if (user === undefined || user === '') return undefined;
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) {
    throw new MinerhaulError(
      'E_CONFIG',
      `user '${user}' must be numeric uid[:gid] for the bubblewrap runtime`,
    );
  }
  const uid = Number(match[1]);
  const gid = match[2] === undefined ? uid : Number(match[2]);
  if (uid > 0xfffffffe || gid > 0xfffffffe)
    throw new MinerhaulError('E_CONFIG', `user '${user}' is out of range`);
  return { uid, gid };
}
