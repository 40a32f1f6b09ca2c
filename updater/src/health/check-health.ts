import { checkDockerHealth } from './docker-health-check';
import { checkExec } from './exec-check';
import type { HealthDeps, HealthSpec, HealthTarget } from './health-spec';
import { checkHttp } from './http-check';
import { checkRunning } from './running-check';

/**
 * Runs the configured health check against the miner of release `digest`; resolves when healthy, throws
 * E_HEALTH when not (the engine then rolls back), E_CONFIG for a check that cannot be run at all.
 * `stableSeconds` on the other kinds adds a `running` window after the first success.
 */
export async function checkHealth(
  spec: HealthSpec,
  target: HealthTarget,
  digest: string,
  deps: HealthDeps = {},
): Promise<void> {
  switch (spec.kind) {
    case 'running':
      return checkRunning(target, digest, spec.stableSeconds, deps);
    case 'http':
      await checkHttp(target, digest, spec.url, spec.timeoutSeconds, deps);
      break;
    case 'exec':
      await checkExec(spec.command, spec.timeoutSeconds, deps);
      break;
    case 'docker':
      await checkDockerHealth(target, digest, spec.timeoutSeconds, deps);
      break;
  }
  if (spec.stableSeconds) await checkRunning(target, digest, spec.stableSeconds, deps);
}

/** The engine's `HealthCheck` port for one configured check: `(release, signal) => Promise<void>`. */
export function healthCheckFor(
  spec: HealthSpec,
  target: HealthTarget,
  deps: Omit<HealthDeps, 'signal'> = {},
): (release: { digest: string }, signal?: AbortSignal) => Promise<void> {
  return (release, signal) => checkHealth(spec, target, release.digest, { ...deps, signal });
}
