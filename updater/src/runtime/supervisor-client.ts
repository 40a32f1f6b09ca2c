import { spawn } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { supervisorMain } from './supervisor-main';
import { type DesiredState, SUPERVISOR_FILES, type SupervisorStatus } from './supervisor-protocol';

const SUPERVISOR_LOG_MAX_BYTES = 1024 * 1024;

export interface SupervisorClientOptions {
  /** The node binary that runs the supervisor (default: the agent's own). */
  nodePath?: string;
  /** Poll interval while waiting for the supervisor to act. */
  pollMs?: number;
}

/**
 * The agent's side of the detached supervisor: installs its script, finds it again after an agent restart
 * (pid file + /proc cmdline), hands it the desired state and waits for it to act.
 */
export class SupervisorClient {
  readonly dir: string;
  private readonly nodePath: string;
  private readonly pollMs: number;

  constructor(dir: string, options: SupervisorClientOptions = {}) {
    this.dir = dir;
    this.nodePath = options.nodePath ?? process.execPath;
    this.pollMs = options.pollMs ?? 5;
  }

  path(name: keyof typeof SUPERVISOR_FILES): string {
    return join(this.dir, SUPERVISOR_FILES[name]);
  }

  /** Writes the supervisor script when it differs from the running agent's version. */
  install(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const source = `'use strict';\n(${supervisorMain.toString()})();\n`;
    let existing: string | undefined;
    try {
      existing = readFileSync(this.path('script'), 'utf8');
    } catch {
      existing = undefined;
    }
    if (existing !== source) writeFileDurably(this.dir, this.path('script'), source);
  }

  /** The pid of the live supervisor of this directory, if any. */
  findPid(): number | undefined {
    let pid: number;
    try {
      pid = Number(readFileSync(this.path('pid'), 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!(pid > 0) || !isAlive(pid)) return undefined;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes(this.path('script')) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  readDesired(): DesiredState | undefined {
    return readJson<DesiredState>(this.path('desired'));
  }

  readStatus(): SupervisorStatus | undefined {
    return readJson<SupervisorStatus>(this.path('status'));
  }

  /** Durably records what should run (temp file, fsync, rename, fsync the directory). */
  writeDesired(desired: DesiredState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileDurably(this.dir, this.path('desired'), JSON.stringify(desired));
  }

  /** Tells the live supervisor to re-read `desired.json`, or starts one (which reads it on start). */
  notify(): void {
    const pid = this.findPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    this.install();
    // The supervisor's own log grows by a line per miner start; keep one previous file at most.
    try {
      if (statSync(this.path('supervisorLog')).size > SUPERVISOR_LOG_MAX_BYTES) {
        renameSync(this.path('supervisorLog'), `${this.path('supervisorLog')}.1`);
      }
    } catch {
      // No log yet.
    }
    const logFd = openSync(this.path('supervisorLog'), 'a');
    try {
      // detached = setsid(): its own session and process group, so neither a SIGKILL of the agent nor a
      // signal to the agent's group reaches it.
      const child = spawn(this.nodePath, [this.path('script'), this.dir, JSON.stringify(SUPERVISOR_FILES)], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        cwd: this.dir,
      });
      child.on('error', () => undefined);
      child.unref();
    } finally {
      closeSync(logFd);
    }
  }

  /** Polls `status.json` until `done` holds; E_RUNTIME after `timeoutMs`. */
  async waitForStatus(
    done: (status: SupervisorStatus) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<SupervisorStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.readStatus();
      if (status && done(status)) return status;
      if (Date.now() >= deadline) {
        throw new MinerhaulError('E_RUNTIME', `the miner supervisor did not ${what} within ${timeoutMs} ms`, {
          details: { status, supervisorLog: this.path('supervisorLog') },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Stops the supervisor and its miner; resolves when the supervisor is gone. */
  async terminate(timeoutMs: number): Promise<void> {
    const pid = this.findPid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid)) {
      if (Date.now() >= deadline) {
        throw new MinerhaulError(
          'E_RUNTIME',
          `the miner supervisor (pid ${pid}) did not stop within ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers signal 0; it is not alive for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Write to a temp file, fsync, rename, fsync the directory: the file is either old or new after a power cut. */
function writeFileDurably(dir: string, target: string, text: string): void {
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
