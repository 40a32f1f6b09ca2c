/** Time as the agent sees it; tests pass a fake so schedules, backoff and expiry need no sleeping. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. The timer does not keep the process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
