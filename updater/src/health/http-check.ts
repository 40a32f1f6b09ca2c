import { MinerhaulError } from '@minerhaul/signing';
import type { HealthDeps, HealthTarget } from './health-spec';
import { throwIfAborted } from './miner-state';
import { retryUntilDeadline } from './retry-until-deadline';

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
  const fetchImpl = deps.fetchImpl ?? fetch;
  const failure = await retryUntilDeadline(
    {
      timeoutSeconds,
      maxAttemptMs: MAX_ATTEMPT_MS,
      beforeEach: async () => {
        const miner = await target.current();
        if (miner && miner.digest !== digest) {
          throw new MinerhaulError(
            'E_HEALTH',
            `the running miner is ${miner.version}, not the release being checked`,
          );
        }
      },
    },
    deps,
    async (capMs) => {
      const timeout = AbortSignal.timeout(capMs);
      try {
        const res = await fetchImpl(parsed, {
          redirect: 'manual',
          signal: deps.signal ? AbortSignal.any([deps.signal, timeout]) : timeout,
        });
        await res.body?.cancel();
        return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
      } catch (err) {
        throwIfAborted(deps.signal);
        return err instanceof Error ? err.message : String(err);
      }
    },
  );
  if (failure === undefined) return;
  const { attempts, last } = failure;
  throw new MinerhaulError('E_HEALTH', `health check ${url} failed after ${attempts} attempts: ${last}`, {
    details: { url, attempts, last },
  });
}
