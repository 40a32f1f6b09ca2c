import type { CycleSummary } from '../daemon/agent-daemon';
import { AgentDaemon } from '../daemon/agent-daemon';
import type { AgentLogger } from '../daemon/agent-logger';
import type { EngineFactory } from '../engine/agent-engine';
import { MinerhaulError } from '../errors';

export interface AgentCommandOptions {
  configPath: string;
  log: AgentLogger;
  engineFactory: EngineFactory;
}

/**
 * `agent check`: recovery, one cycle, then exit. A failed cycle is thrown with its code so the exit
 * status tells the outcome (a rollback is E_HEALTH).
 */
export async function checkOnceCommand(options: AgentCommandOptions): Promise<CycleSummary> {
  const daemon = await AgentDaemon.open(options);
  const summary = await daemon.checkOnce();
  if (summary.outcome === 'failed' || summary.outcome === 'rolled-back') {
    if (summary.errorCode === undefined) throw new Error(summary.error ?? 'update cycle failed');
    throw new MinerhaulError(summary.errorCode, summary.error ?? 'update cycle failed', {
      details: { outcome: summary.outcome },
    });
  }
  return summary;
}

/** `agent run`: the daemon until SIGTERM or SIGINT (or `signal` aborts). */
export async function runDaemonCommand(
  options: AgentCommandOptions & { signal?: AbortSignal },
): Promise<void> {
  const daemon = await AgentDaemon.open(options);
  await daemon.start();
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      options.signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    options.signal?.addEventListener('abort', done, { once: true });
  });
  options.log.info({}, 'stopping (the miner keeps running)');
  await daemon.stop();
}
