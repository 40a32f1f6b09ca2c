import type { Clock, HealthTarget, RunningMiner } from '@minerhaul/updater';

export const DIGEST = `sha256:${'1'.repeat(64)}`;

export function miner(overrides: Partial<RunningMiner> = {}): RunningMiner {
  return {
    kind: 'bubblewrap',
    digest: DIGEST,
    manifestDigest: DIGEST,
    version: '1.0.0',
    sequence: 1,
    running: true,
    pid: 100,
    startedAt: '2026-01-01T00:00:00Z',
    restartCount: 0,
    ...overrides,
  };
}

/** A clock whose sleep only advances time: deadlines are tested without waiting. */
export function fakeClock(start = 1_000_000): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

/** A target that answers each current() call with the next state (the last one repeats). */
export function targetSeeing(states: Array<RunningMiner | undefined>): HealthTarget & { calls: number } {
  const target = {
    calls: 0,
    current: async () => {
      const state = states[Math.min(target.calls, states.length - 1)];
      target.calls += 1;
      return state;
    },
  };
  return target;
}
