import { systemClock } from './clock';
import type { HealthDeps } from './health-spec';
import { throwIfAborted } from './miner-state';

export interface RetryPlan {
  timeoutSeconds: number;
  /** The longest one try may take, so a hung probe leaves time for another. */
  maxAttemptMs: number;
  /** Runs before every try and may throw to stop at once (a wrong miner is not worth retrying). */
  beforeEach?: () => Promise<void>;
}

/** Why the last try failed, and how many were made: for the E_HEALTH message and details. */
export interface RetryFailure {
  attempts: number;
  last: string;
}

/**
 * Runs `attempt` until it passes (resolves `undefined`) or the deadline is spent, pausing
 * `deps.intervalMs` between tries. Each try is capped by the time left, so the loop is bounded by the
 * deadline on the injected clock; an abort is rethrown as itself.
 */
export async function retryUntilDeadline(
  plan: RetryPlan,
  deps: HealthDeps,
  attempt: (capMs: number) => Promise<string | undefined>,
): Promise<RetryFailure | undefined> {
  const clock = deps.clock ?? systemClock;
  const interval = deps.intervalMs ?? 500;
  const deadline = clock.now() + plan.timeoutSeconds * 1000;
  let last = 'no attempt made';
  let attempts = 0;
  for (;;) {
    throwIfAborted(deps.signal);
    await plan.beforeEach?.();
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    attempts += 1;
    const failure = await attempt(Math.max(1, Math.min(remaining, plan.maxAttemptMs)));
    if (failure === undefined) return undefined;
    last = failure;
    const left = deadline - clock.now();
    if (left <= 0) break;
    await clock.sleep(Math.min(interval, left), deps.signal);
  }
  return { attempts, last };
}
