import { isInRollout } from '@minerhaul/signing';
import { isMinerhaulError } from '../errors';
import type { AgentEngine } from './agent-engine';
import { createAgentEngine } from './engine-factory';
import type { ChildMessage, EngineJob, HookAnswer } from './engine-ipc';

/**
 * The engine's side of process isolation (child-process-engine.ts): receives one job over IPC, runs it
 * with the real engine, asks the parent before the swap (the update lock lives there), reports events
 * and the outcome, then exits. If the agent goes away (IPC disconnect) the job is aborted: the journal
 * lets the next agent finish or undo what was started, and two engines never run at once.
 */
export function runEngineChild(): void {
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  const controller = new AbortController();
  process.once('disconnect', () => controller.abort(new Error('the agent went away')));
  let nextId = 0;
  const pending = new Map<number, (value: boolean) => void>();
  let started = false;

  process.on('message', (raw: EngineJob | HookAnswer) => {
    if (raw.type === 'answer') {
      pending.get(raw.id)?.(raw.value);
      pending.delete(raw.id);
    } else if (raw.type === 'job' && !started) {
      started = true;
      void run(raw);
    }
  });

  const beforeSwap = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      send({ type: 'before-swap', id });
    });

  async function run(job: EngineJob): Promise<void> {
    let engine: AgentEngine | undefined;
    try {
      engine = await createAgentEngine(job.config, job.source, {
        deviceId: job.deviceId,
        admit: (statement) => {
          const inside = isInRollout(job.deviceId, statement.digest, statement.rollout);
          if (!inside) send({ type: 'event', event: { type: 'not-in-rollout', ...statement } });
          return inside;
        },
        beforeSwap,
        onEvent: (event) => send({ type: 'event', event }),
      });
      if (job.op === 'start') {
        await engine.start(controller.signal);
        send({ type: 'done', status: engine.status() });
      } else {
        const result = await engine.check(controller.signal);
        send({ type: 'done', status: engine.status(), result });
      }
    } catch (err) {
      send({
        type: 'done',
        status: engine?.status() ?? { phase: 'idle', rollbackCount: 0 },
        error: isMinerhaulError(err)
          ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
          : { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      });
    } finally {
      process.disconnect?.();
    }
  }
}

if (require.main === module) runEngineChild();
