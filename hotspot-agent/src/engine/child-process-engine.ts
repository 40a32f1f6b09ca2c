import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig, EffectiveSource } from '../config/agent-config';
import { MinerhaulError } from '../errors';
import type {
  AgentEngine,
  EngineCheckResult,
  EngineFactory,
  EngineHooks,
  EngineStatusView,
} from './agent-engine';
import type { ChildMessage, EngineJob, HookAnswer } from './engine-ipc';

/** The compiled child entry (dist/engine/engine-child.js), also when this module runs from src/. */
export function engineChildPath(): string {
  return join(__dirname, '..', '..', 'dist', 'engine', 'engine-child.js');
}

/**
 * V8 heap sizing for the engine child (docs/decisions/0508): an install streams ~300 MB of network
 * and zlib buffers through a heap that starts small, and each fresh child otherwise spends a good
 * part of its first install in garbage collections. Measured: −6 % wall, −9 % CPU, peak RSS +21 MiB.
 */
export const ENGINE_CHILD_V8_FLAGS = ['--initial-heap-size=128', '--min-semi-space-size=16'] as const;

/**
 * The update engine in a short-lived child process, one per job (recovery at start, each check).
 * The resident daemon then never loads the engine, the registry client or the runtimes: on a device
 * that checks every 15 minutes and updates a few times a year, that is most of the agent's memory
 * (docs/decisions/0506-engine-process-isolation.md). Policy stays in the daemon: the child asks it
 * before the swap (update lock) and sends it every engine event.
 */
export class ChildProcessEngine implements AgentEngine {
  private last: EngineStatusView = { phase: 'idle', rollbackCount: 0 };
  private phase = 'idle';

  constructor(
    private readonly config: AgentConfig,
    private readonly source: EffectiveSource,
    private readonly hooks: EngineHooks,
    private readonly childPath = engineChildPath(),
  ) {}

  async start(signal?: AbortSignal): Promise<void> {
    await this.run('start', signal);
  }

  async check(signal?: AbortSignal): Promise<EngineCheckResult> {
    return (await this.run('check', signal)) ?? { outcome: 'up-to-date' };
  }

  status(): EngineStatusView {
    return { ...this.last, phase: this.phase };
  }

  private run(op: EngineJob['op'], signal?: AbortSignal): Promise<EngineCheckResult | undefined> {
    if (!existsSync(this.childPath)) {
      throw new MinerhaulError(
        'E_RUNTIME',
        `engine entry ${this.childPath} is missing: build minerhaul (npm run build)`,
      );
    }
    return new Promise((resolve, reject) => {
      // stdio inherited: the child's JSON log lines join the agent's.
      const child = fork(this.childPath, [], {
        execArgv: [...process.execArgv, ...ENGINE_CHILD_V8_FLAGS],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        ...(signal ? { signal } : {}),
      });
      let done: Extract<ChildMessage, { type: 'done' }> | undefined;
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'event') {
          if (message.event.type === 'phase' && typeof message.event.phase === 'string')
            this.phase = message.event.phase;
          this.hooks.onEvent(message.event);
        } else if (message.type === 'before-swap') {
          this.hooks.beforeSwap().then(
            (value) => child.send({ type: 'answer', id: message.id, value } satisfies HookAnswer),
            () => child.send({ type: 'answer', id: message.id, value: false } satisfies HookAnswer),
          );
        } else if (message.type === 'done') {
          done = message;
        }
      });
      child.once('error', (err) => {
        if (done === undefined)
          reject(new MinerhaulError('E_RUNTIME', `engine process failed: ${err.message}`, { cause: err }));
      });
      child.once('exit', (code, sig) => {
        this.phase = 'idle';
        if (done === undefined) {
          reject(
            new MinerhaulError('E_RUNTIME', `engine process ended without an answer (exit ${code ?? sig})`),
          );
          return;
        }
        this.last = done.status;
        if (done.error === undefined) {
          resolve(done.result);
          return;
        }
        const { code: errorCode, message, details } = done.error;
        if (errorCode === undefined) reject(new Error(message));
        else reject(new MinerhaulError(errorCode, message, details ? { details } : {}));
      });
      child.send({
        type: 'job',
        op,
        config: this.config,
        source: this.source,
        deviceId: this.hooks.deviceId,
      } satisfies EngineJob);
    });
  }
}

/** An EngineFactory that runs every engine job in a child process (for `agent run`). */
export function childProcessEngineFactory(childPath?: string): EngineFactory {
  return async (config, source, hooks) => new ChildProcessEngine(config, source, hooks, childPath);
}
