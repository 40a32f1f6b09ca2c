import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A long-running program the demo started (registry, fleet server, agent). */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** What a user would type to start it, for the step log. */
  readonly commandLine: string;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts and stops the demo's services. Each runs detached, in its own process group: Ctrl-C in the
 * terminal reaches only the demo, which then stops them in order (agent before miner before fleet
 * before registry), and a service's own children (the agent's engine process) go with it. Output goes
 * to files, so a service never blocks on a pipe nobody reads and the files stay for debugging.
 */
export class ServiceProcesses {
  private readonly services: Array<{ service: ServiceProcess; child: ChildProcess }> = [];

  constructor(private readonly logDir: string) {}

  start(spec: ServiceSpec): ServiceProcess {
    mkdirSync(this.logDir, { recursive: true });
    const stdoutFile = join(this.logDir, `${spec.name}.out`);
    const stderrFile = join(this.logDir, `${spec.name}.log`);
    const out = openSync(stdoutFile, 'a');
    const err = openSync(stderrFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        env: spec.env,
        cwd: spec.cwd,
        detached: true,
        stdio: ['ignore', out, err],
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      // A spawn failure (ENOENT) emits 'error' and no 'exit'.
      child.once('error', () => resolve('spawn-error'));
    });
    if (child.pid === undefined) {
      throw new MinerhaulError('E_RUNTIME', `cannot start ${spec.name} (${spec.command})`);
    }
    const pid = child.pid;
    let done = false;
    void exited.then(() => (done = true));
    const read = (file: string) => (): string => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    const service: ServiceProcess = {
      name: spec.name,
      pid,
      commandLine: [spec.command, ...spec.args].join(' '),
      stdoutFile,
      stderrFile,
      exited,
      running: () => !done,
      stdout: read(stdoutFile),
      stderr: read(stderrFile),
    };
    this.services.push({ service, child });
    return service;
  }

  /**
   * SIGTERM to the service (it stops its own children: the agent aborts its engine process cleanly),
   * SIGKILL to its whole group after `graceMs`; resolves once it has exited.
   */
  async stop(service: ServiceProcess, graceMs = 10_000): Promise<void> {
    if (!service.running()) return;
    try {
      process.kill(service.pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signalGroup(service.pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([service.exited, killed]);
    clearTimeout(timer);
    await service.exited;
    // Stragglers of the group (a child that ignored SIGTERM) go too.
    signalGroup(service.pid, 'SIGKILL');
  }

  /** Stops every service still running, the last started first. */
  async stopAll(graceMs?: number): Promise<void> {
    for (const { service } of [...this.services].reverse()) await this.stop(service, graceMs);
  }

  /** Last resort from an `exit` handler (no async possible): SIGKILL whatever is left. */
  killAllSync(): void {
    for (const { service } of this.services) if (service.running()) signalGroup(service.pid, 'SIGKILL');
  }

  list(): ServiceProcess[] {
    return this.services.map((s) => s.service);
  }
}

/** Signals a process group we created (detached child: pgid = pid); gone already is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in that group.
  }
}
