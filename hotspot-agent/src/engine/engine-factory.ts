import type { AgentEngine, EngineFactory } from './agent-engine';

/**
 * The real engine: updater's createUpdateEngine with the effective source and the agent's hooks.
 * @minerhaul/updater (and through it the registry client and the runtime) is required only here,
 * when the first engine is built; the runtime modules inside stay lazy (no dockerode on bubblewrap).
 */
export const createAgentEngine: EngineFactory = async (config, effective, hooks): Promise<AgentEngine> => {
  const { createUpdateEngine } = require('@minerhaul/updater') as typeof import('@minerhaul/updater');
  const crashAt = process.env.MINERHAUL_CRASH_AT;
  return createUpdateEngine({
    stateDir: config.stateDir,
    source: effective.source,
    trust: config.trust,
    runtime: config.runtime,
    ...(config.health ? { health: config.health } : {}),
    admit: (statement) => hooks.admit(statement),
    beforeSwap: () => hooks.beforeSwap(),
    onEvent: (event) => hooks.onEvent(event),
    // Crash-recovery tests only: the engine SIGKILLs itself right after journalling this step.
    ...(crashAt ? { crashAt } : {}),
  });
};
