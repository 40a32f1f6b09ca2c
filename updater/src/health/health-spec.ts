import type { RunningMiner } from '../runtime/miner-runtime';
import type { Clock } from './clock';

/**
 * The `health` section of the agent config (DESIGN.md), plus Docker's own HEALTHCHECK.
 * - running: still up after `stableSeconds`, same process, no restart.
 * - http: a 2xx from `url`, retried until `timeoutSeconds`.
 * - exec: `command` exits 0 on the host (docs/decisions/0353), retried until `timeoutSeconds`.
 * - docker: the container's HEALTHCHECK reports healthy before `timeoutSeconds`.
 */
export type HealthSpec =
  | { kind: 'running'; stableSeconds: number }
  | { kind: 'http'; url: string; timeoutSeconds: number; stableSeconds?: number }
  | { kind: 'exec'; command: string[]; timeoutSeconds: number; stableSeconds?: number }
  | { kind: 'docker'; timeoutSeconds: number; stableSeconds?: number };

/** What a health check observes: the runtime's view of the miner. */
export interface HealthTarget {
  current(): Promise<RunningMiner | undefined>;
}

export interface HealthDeps {
  clock?: Clock;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Delay between attempts (default 500 ms). */
  intervalMs?: number;
}
