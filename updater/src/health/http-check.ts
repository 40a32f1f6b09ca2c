import { MinerhaulError } from '@minerhaul/signing';
import { systemClock } from './clock';
import type { HealthDeps, HealthTarget } from './health-spec';
import { throwIfAborted } from './miner-state';

/** Longest single request; the attempt loop itself is bounded by the overall timeout. */
const MAX_ATTEMPT_MS = 5_000;

/** `http`: a 2xx from `url` before `timeoutSeconds`, retried; redirects are not followed (a 3xx fails). */
export async function checkHttp(
  target: HealthTarget,
  digest: string,
  url: string,
  timeoutSeconds: number,
  deps: HealthDeps = {},
): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MinerhaulError('E_CONFIG', `health url '${url}' is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MinerhaulError('E_CONFIG', `health url '${url}' must be http or https`);
  }
  const clock = deps.clock ?? systemClock;
  const fetchImpl = deps.fetchImpl ?? fetch;
  const interval = deps.intervalMs ?? 500;
  const deadline = clock.now() + timeoutSeconds * 1000;
  let last = 'no attempt made';
  let attempts = 0;
  for (;;) {
    throwIfAborted(deps.signal);
    const miner = await target.current();
    if (miner && miner.digest !== digest) {
      throw new MinerhaulError(
        'E_HEALTH',
        `the running miner is ${miner.version}, not the release being checked`,
      );
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    attempts += 1;
    const timeout = AbortSignal.timeout(Math.max(1, Math.min(remaining, MAX_ATTEMPT_MS)));
    try {
      const res = await fetchImpl(parsed, {
        redirect: 'manual',
        signal: deps.signal ? AbortSignal.any([deps.signal, timeout]) : timeout,
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      throwIfAborted(deps.signal);
      last = err instanceof Error ? err.message : String(err);
    }
    const left = deadline - clock.now();
    if (left <= 0) break;
    await clock.sleep(Math.min(interval, left), deps.signal);
  }
  throw new MinerhaulError('E_HEALTH', `health check ${url} failed after ${attempts} attempts: ${last}`, {
    details: { url, attempts, last },
  });
}
