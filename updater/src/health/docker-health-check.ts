import { MinerhaulError } from '@minerhaul/signing';
import { systemClock } from './clock';
import type { HealthDeps, HealthTarget } from './health-spec';
import { requireRunning, throwIfAborted } from './miner-state';
import { checkRunning } from './running-check';

/** Stability window used when the image has no HEALTHCHECK (protocol-reference §7.3 REC). */
const FALLBACK_STABLE_SECONDS = 10;

/**
 * `docker`: Docker's own HEALTHCHECK (`State.Health`) turns `healthy` before `timeoutSeconds`; `unhealthy`
 * or a stopped container fails at once. Without a HEALTHCHECK it falls back to `running`.
 */
export async function checkDockerHealth(
  target: HealthTarget,
  digest: string,
  timeoutSeconds: number,
  deps: HealthDeps = {},
): Promise<void> {
  const clock = deps.clock ?? systemClock;
  const interval = deps.intervalMs ?? 1000;
  const deadline = clock.now() + timeoutSeconds * 1000;
  for (;;) {
    throwIfAborted(deps.signal);
    const miner = requireRunning(await target.current(), digest);
    if (miner.health === 'healthy') return;
    if (miner.health === 'unhealthy') {
      throw new MinerhaulError('E_HEALTH', `container of ${miner.version} reports unhealthy`, {
        details: { containerId: miner.containerId },
      });
    }
    if (miner.health === undefined || miner.health === 'none') {
      return checkRunning(target, digest, Math.min(FALLBACK_STABLE_SECONDS, timeoutSeconds), deps);
    }
    const left = deadline - clock.now();
    if (left <= 0) {
      throw new MinerhaulError(
        'E_HEALTH',
        `container of ${miner.version} not healthy after ${timeoutSeconds} s`,
        {
          details: { containerId: miner.containerId, health: miner.health },
        },
      );
    }
    await clock.sleep(Math.min(interval, left), deps.signal);
  }
}
