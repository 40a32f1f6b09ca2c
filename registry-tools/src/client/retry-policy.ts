export interface RetryOptions {
  /** Total attempts including the first (default 4). */
  attempts: number;
  /** First backoff delay; doubled each attempt, with jitter (default 250 ms). */
  baseDelayMs: number;
  /** Upper bound for one wait, including a server's Retry-After (default 30 s). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** 429 and the 5xx that mean "try later" (distribution-spec "Errors"; RFC 9110 §15.6). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or garbage. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): Retry-After wins, else jittered backoff. */
export function backoffDelay(
  options: RetryOptions,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const max = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs ?? 30_000;
  if (retryAfterMs !== undefined) return Math.min(max, retryAfterMs);
  const exp = options.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(max, Math.round(exp / 2 + random() * (exp / 2)));
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
