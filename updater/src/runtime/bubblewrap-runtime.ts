import { chownSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { bwrapSelfTest } from './bwrap-self-test';
import { buildBwrapArgs, fullModeMountPoints, type HostPathKind, parseNumericUser } from './bwrap-args';
import {
  DEFAULT_DATA_MOUNT,
  DEFAULT_SLIM_PREFIX,
  type MinerRuntime,
  type PreparedMiner,
  type RunningMiner,
  type RuntimeRelease,
} from './miner-runtime';
import { SupervisorClient, isAlive } from './supervisor-client';
import type { DesiredState, ReleaseIdentity, SupervisorStatus } from './supervisor-protocol';

export interface BubblewrapRuntimeOptions {
  /** The agent's state directory; the runtime keeps its files in `<stateDir>/bubblewrap`. */
  stateDir: string;
  /** Persistent data directory of the miner, shared by all releases, bound read-write. */
  dataDir: string;
  /** Where the data directory appears inside the sandbox (default /var/lib/miner). */
  dataMount?: string;
  /** Where slim images keep their files (the builder's `--prefix`, default /opt/miner). */
  slimPrefix?: string;
  /** bwrap program (default `bwrap` from PATH). */
  bwrapPath?: string;
  /** Run bwrap as this host user (unprivileged user namespace); overrides the image's numeric `user`. */
  user?: { uid: number; gid: number };
  /** Host devices bound into the sandbox when present (serial ports, GPIO). */
  devices?: string[];
  /** The owner's environment (`KEY=VALUE`), set after the image's own so it wins, as Docker does. */
  env?: string[];
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** SIGTERM → SIGKILL grace when stopping the miner. */
  stopGraceMs?: number;
  /** How long the supervisor may take to start the new miner after the old one is gone. */
  startTimeoutMs?: number;
  maxLogBytes?: number;
  nodePath?: string;
}

interface BubblewrapPrepared extends PreparedMiner {
  readonly command: string[];
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Runs the miner in a bubblewrap sandbox under a detached supervisor (docs/decisions/0351): the agent only
 * writes what should run and signals; the supervisor does the swap, restarts on crash, and outlives the agent.
 */
export class BubblewrapRuntime implements MinerRuntime {
  readonly kind = 'bubblewrap' as const;
  readonly supervisor: SupervisorClient;
  private readonly options: BubblewrapRuntimeOptions;
  private readonly selfTested = new Set<string>();

  constructor(options: BubblewrapRuntimeOptions) {
    this.options = options;
    this.supervisor = new SupervisorClient(join(options.stateDir, 'bubblewrap'), {
      nodePath: options.nodePath,
    });
  }

  /** Paths of the miner's stdout and stderr logs. */
  get logPaths(): { stdout: string; stderr: string } {
    return { stdout: this.supervisor.path('stdoutLog'), stderr: this.supervisor.path('stderrLog') };
  }

  async prepare(release: RuntimeRelease): Promise<BubblewrapPrepared> {
    const staged = release.bubblewrap;
    if (!staged) {
      throw new MinerhaulError(
        'E_CONFIG',
        `release ${release.version} has no bubblewrap staging (releaseDir)`,
      );
    }
    requireDirectory(staged.releaseDir, 'release directory');
    const user = this.options.user ?? parseNumericUser(release.config.user);
    const bwrap = this.options.bwrapPath ?? 'bwrap';
    // Once per runtime and user: a host that cannot run bwrap fails here, with bwrap's reason.
    const testKey = `${bwrap}:${user?.uid ?? ''}:${user?.gid ?? ''}`;
    if (!this.selfTested.has(testKey)) {
      await bwrapSelfTest(bwrap, user);
      this.selfTested.add(testKey);
    }
    const dataMount = this.options.dataMount ?? DEFAULT_DATA_MOUNT;
    if (staged.mode === 'slim') {
      requireDirectory(
        join(staged.releaseDir, this.options.slimPrefix ?? DEFAULT_SLIM_PREFIX),
        'slim prefix',
      );
    } else {
      // bwrap cannot create mount points inside a read-only root (§6.4 (a)); make them now, never
      // through a symlink the image may contain.
      for (const point of fullModeMountPoints(dataMount)) makeDirInside(staged.releaseDir, point);
    }
    mkdirSync(this.options.dataDir, { recursive: true, mode: 0o750 });
    if (user) chownSync(this.options.dataDir, user.uid, user.gid);
    const args = buildBwrapArgs({
      mode: staged.mode,
      releaseDir: staged.releaseDir,
      config: { ...release.config, env: [...release.config.env, ...(this.options.env ?? [])] },
      dataDir: this.options.dataDir,
      dataMount,
      slimPrefix: this.options.slimPrefix,
      devices: this.options.devices,
      hostPath: inspectHostPath,
    });
    return {
      kind: this.kind,
      release,
      id: release.digest,
      command: [bwrap, ...args],
      uid: user?.uid,
      gid: user?.gid,
    };
  }

  async activate(prepared: PreparedMiner): Promise<void> {
    const ready = isBubblewrapPrepared(prepared) ? prepared : await this.prepare(prepared.release);
    const previous = this.supervisor.readDesired();
    const status = this.supervisor.readStatus();
    const generation = Math.max(previous?.generation ?? 0, status?.generation ?? 0) + 1;
    const grace = this.options.stopGraceMs ?? 10_000;
    const desired: DesiredState = {
      generation,
      stopped: false,
      release: identity(ready.release),
      command: ready.command,
      uid: ready.uid,
      gid: ready.gid,
      backoff: this.options.backoff ?? { initialMs: 1_000, maxMs: 60_000, resetAfterMs: 60_000 },
      stopGraceMs: grace,
      maxLogBytes: this.options.maxLogBytes ?? 10 * 1024 * 1024,
    };
    // Journalled before it takes effect: a supervisor started after a crash reads exactly this.
    this.supervisor.writeDesired(desired);
    this.supervisor.notify();
    await this.supervisor.waitForStatus(
      (s) => s.generation === generation && (s.phase === 'running' || s.phase === 'backoff'),
      grace + (this.options.startTimeoutMs ?? 10_000),
      `start release ${ready.release.version}`,
    );
  }

  async ensureRunning(release: RuntimeRelease): Promise<void> {
    const desired = this.supervisor.readDesired();
    const status = this.supervisor.readStatus();
    const settled =
      this.supervisor.findPid() !== undefined &&
      desired !== undefined &&
      !desired.stopped &&
      desired.release?.digest === release.digest &&
      status?.generation === desired.generation &&
      (status.phase === 'running' || status.phase === 'backoff');
    if (settled) return;
    await this.activate(await this.prepare(release));
  }

  async current(): Promise<RunningMiner | undefined> {
    if (this.supervisor.findPid() === undefined) return undefined;
    const status: SupervisorStatus | undefined = this.supervisor.readStatus();
    if (!status?.release) return undefined;
    const running = status.phase === 'running' && status.childPid !== undefined && isAlive(status.childPid);
    return {
      kind: this.kind,
      ...status.release,
      running,
      pid: running ? status.childPid : undefined,
      startedAt: status.startedAt,
      restartCount: status.restartCount,
    };
  }

  async stop(): Promise<void> {
    const previous = this.supervisor.readDesired();
    if (previous && !previous.stopped) {
      this.supervisor.writeDesired({ ...previous, generation: previous.generation + 1, stopped: true });
    }
    await this.supervisor.terminate((this.options.stopGraceMs ?? 10_000) + 5_000);
  }

  /** Release directories belong to the blob store's garbage collection; nothing is held here. */
  async commit(): Promise<void> {}

  /** The previous release's directory is kept until commit, so rolling back is running it again. */
  async rollback(to: RuntimeRelease): Promise<void> {
    await this.activate(await this.prepare(to));
  }

  /** Nothing runtime-specific is kept per release (the directory is the stager's). */
  async discard(): Promise<void> {}
}

function isBubblewrapPrepared(prepared: PreparedMiner): prepared is BubblewrapPrepared {
  return prepared.kind === 'bubblewrap' && Array.isArray((prepared as Partial<BubblewrapPrepared>).command);
}

function identity(release: RuntimeRelease): ReleaseIdentity {
  return {
    digest: release.digest,
    manifestDigest: release.manifestDigest,
    version: release.version,
    sequence: release.sequence,
  };
}

function inspectHostPath(path: string): HostPathKind {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path) };
    if (stat.isDirectory()) return { type: 'dir' };
    return stat.isFile() ? { type: 'file' } : undefined;
  } catch {
    return undefined;
  }
}

function requireDirectory(path: string, what: string): void {
  if (inspectHostPath(path)?.type !== 'dir')
    throw new MinerhaulError('E_RUNTIME', `${what} ${path} is missing or not a directory`);
}

/** mkdir -p of `inside` below `root`, refusing any component that is a symlink or not a directory. */
export function makeDirInside(root: string, inside: string): void {
  let current = root;
  for (const part of posix
    .normalize(inside)
    .split('/')
    .filter((p) => p !== '' && p !== '.')) {
    if (part === '..')
      throw new MinerhaulError('E_CONFIG', `mount point ${inside} leaves the release directory`);
    current = join(current, part);
    let stat;
    try {
      stat = lstatSync(current);
    } catch {
      mkdirSync(current, { mode: 0o755 });
      continue;
    }
    if (!stat.isDirectory()) {
      throw new MinerhaulError(
        'E_RUNTIME',
        `mount point ${inside}: ${current} is not a directory in the release`,
      );
    }
  }
}
