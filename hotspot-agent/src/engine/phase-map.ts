import type { AgentPhase } from '../report/device-report';
import type { CycleOutcome } from '../state/agent-status';

/** The engine's lifecycle phase as reports name it (fleet's phase list). */
export function phaseFromEngine(enginePhase: string): AgentPhase {
  switch (enginePhase) {
    case 'resolve':
    case 'verify':
    case 'recover':
      return 'checking';
    case 'stage':
      return 'staging';
    case 'swap':
      return 'swapping';
    case 'health':
      return 'health-check';
    case 'commit':
    case 'gc':
      return 'committed';
    case 'rollback':
      return 'rolled-back';
    default:
      return 'idle';
  }
}

/** The phase shown after a cycle ended with `outcome`. */
export function phaseAfter(outcome: CycleOutcome): AgentPhase {
  switch (outcome) {
    case 'updated':
    case 'adopted':
      return 'committed';
    case 'rolled-back':
      return 'rolled-back';
    case 'failed':
      return 'failed';
    default:
      return 'idle';
  }
}
