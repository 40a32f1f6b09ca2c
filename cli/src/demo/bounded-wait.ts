import { setTimeout as sleep } from 'node:timers/promises';
import { MinerhaulError, isMinerhaulError, type ErrorCode } from '@minerhaul/signing';

export interface WaitOptions {
  /** What is awaited, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Code of the error thrown at the deadline. */
  code?: ErrorCode;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Polls `probe` until it returns something other than undefined, at most `timeoutMs` (every wait of
 * the demo is bounded). A MinerhaulError from the probe ends the wait at once; other errors (a
 * refused connection) are retried and the last one is kept as the cause.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      // A coded error is final (the process waited for has exited); anything else is retried.
      if (isMinerhaulError(err)) throw err;
      lastError = err;
    }
    if (now() >= deadline) {
      throw new MinerhaulError(
        options.code ?? 'E_RUNTIME',
        `${options.what}: not after ${(options.timeoutMs / 1000).toFixed(1)} s` +
          (lastError instanceof Error ? ` (${lastError.message})` : ''),
        { cause: lastError, details: { attempts: attempt + 1 } },
      );
    }
    await sleep(interval, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}

/** fetch with a deadline: every HTTP request of the demo goes to 127.0.0.1 and is bounded. */
export async function fetchBounded(
  url: string,
  init: RequestInit & { timeoutMs: number },
): Promise<Response> {
  const { timeoutMs, ...rest } = init;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = rest.signal ? AbortSignal.any([rest.signal, timeout]) : timeout;
  return fetch(url, { ...rest, signal });
}
