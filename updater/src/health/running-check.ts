import { MinerhaulError } from '@minerhaul/signing';
import { systemClock } from './clock';
import type { HealthDeps, HealthTarget } from './health-spec';
import { requireRunning, throwIfAborted } from './miner-state';

/**
 * `running`: the miner of `digest` is up now and still up `stableSeconds` later, as the same process with
 * no restart in between (a crash-looping miner is restarted by its supervisor, which this catches).
 */
export async function checkRunning(
  target: HealthTarget,
  digest: string,
  stableSeconds: number,
  deps: HealthDeps = {},
): Promise<void> {
  const clock = deps.clock ?? systemClock;
  const interval = deps.intervalMs ?? 500;
  const first = requireRunning(await target.current(), digest);
  const deadline = clock.now() + Math.max(0, stableSeconds) * 1000;
  for (let remaining = deadline - clock.now(); remaining > 0; remaining = deadline - clock.now()) {
    await clock.sleep(Math.min(interval, remaining), deps.signal);
    throwIfAborted(deps.signal);
    const now = requireRunning(await target.current(), digest);
    const restarted =
      now.restartCount !== first.restartCount ||
      now.startedAt !== first.startedAt ||
      (first.pid !== undefined && now.pid !== first.pid);
    if (restarted) {
      throw new MinerhaulError('E_HEALTH', `miner ${now.version} restarted within ${stableSeconds} s`, {
        details: { restartCount: now.restartCount, startedAt: now.startedAt },
      });
    }
  }
}
