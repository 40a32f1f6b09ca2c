import {
  backoffDelayMs,
  CycleScheduler,
  jitterDelayMs,
  SingleFlight,
  type Clock,
} from '@minerhaul/hotspot-agent';

/** A clock whose timers fire only when the test advances time. */
class FakeClock implements Clock {
  time = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  get pending(): number[] {
    return this.timers.map((t) => t.at - this.time);
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (let guard = 0; guard < 1000; guard++) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.time = due.at;
      due.fn();
      await flush();
    }
    this.time = end;
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function manualCron(): {
  trigger: (expr: string, onTick: () => void) => { stop(): void };
  tick: () => void;
  stopped: boolean;
} {
  const state = { onTick: (): void => undefined, stopped: false };
  return {
    trigger: (_expr, onTick) => {
      state.onTick = onTick;
      return { stop: () => (state.stopped = true) };
    },
    tick: () => state.onTick(),
    get stopped() {
      return state.stopped;
    },
  };
}

describe('jitterDelayMs', () => {
  describe('when jitter is configured', () => {
    it('returns a delay within [0, jitterSeconds]', () => {
      expect(jitterDelayMs(300, () => 0)).toBe(0);
      expect(jitterDelayMs(300, () => 0.999999999)).toBeLessThanOrEqual(300_000);
      expect(jitterDelayMs(300, () => 0.5)).toBe(150_000);
    });

    it('spreads devices over the window', () => {
      const seen = new Set(Array.from({ length: 200 }, () => Math.floor(jitterDelayMs(300) / 30_000)));
      expect(seen.size).toBeGreaterThanOrEqual(8);
    });
  });

  describe('when jitter is 0', () => {
    it('returns 0', () => expect(jitterDelayMs(0, () => 0.7)).toBe(0));
  });
});

describe('backoffDelayMs', () => {
  const opts = { baseMs: 60_000, maxMs: 3_600_000 };
  it.each([
    [1, 60_000],
    [2, 120_000],
    [3, 240_000],
    [7, 3_600_000],
    [50, 3_600_000],
  ])('after %i failures returns about %i ms', (failures, expected) => {
    expect(backoffDelayMs(failures, opts, () => 0.5)).toBe(expected);
  });

  it('never exceeds the cap, whatever the jitter', () => {
    expect(backoffDelayMs(30, opts, () => 1)).toBe(3_600_000);
  });

  it('returns 0 before any failure', () => expect(backoffDelayMs(0, opts)).toBe(0));
});

describe('SingleFlight', () => {
  describe('when called during a run', () => {
    it('returns the same run instead of starting another', async () => {
      let runs = 0;
      let release: () => void = () => undefined;
      const flight = new SingleFlight(async () => {
        runs += 1;
        await new Promise<void>((r) => (release = r));
        return runs;
      });
      const a = flight.run();
      const b = flight.run();
      expect(flight.busy).toBe(true);
      release();
      expect(await a).toBe(1);
      expect(await b).toBe(1);
      expect(flight.busy).toBe(false);
      const c = flight.run();
      release();
      expect(await c).toBe(2);
    });
  });
});

describe('CycleScheduler', () => {
  function setup(
    results: ('ok' | 'failed')[],
    jitterSeconds = 60,
  ): {
    clock: FakeClock;
    cron: ReturnType<typeof manualCron>;
    scheduler: CycleScheduler;
    runs: () => number;
    concurrent: () => number;
    finish: () => void;
  } {
    const clock = new FakeClock();
    const cron = manualCron();
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    let release: (() => void) | undefined;
    const scheduler = new CycleScheduler({
      cron: '*/15 * * * *',
      jitterSeconds,
      backoffBaseSeconds: 60,
      maxBackoffSeconds: 600,
      clock,
      cronTrigger: cron.trigger,
      random: () => 0.5,
      runCycle: async () => {
        runs += 1;
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => (release = r));
        active -= 1;
        return results.shift() ?? 'ok';
      },
    });
    scheduler.start();
    return {
      clock,
      cron,
      scheduler,
      runs: () => runs,
      concurrent: () => maxActive,
      finish: () => release?.(),
    };
  }

  describe('when cron ticks', () => {
    it('runs the cycle after the jitter, not at the tick', async () => {
      const t = setup(['ok']);
      t.cron.tick();
      expect(t.clock.pending).toEqual([30_000]);
      await t.clock.advance(29_999);
      expect(t.runs()).toBe(0);
      await t.clock.advance(1);
      expect(t.runs()).toBe(1);
      t.finish();
      await flush();
      expect(t.scheduler.consecutiveFailures).toBe(0);
    });
  });

  describe('when a cycle runs long', () => {
    it('never starts a second one at the same time', async () => {
      const t = setup(['ok', 'ok'], 0);
      t.cron.tick();
      await t.clock.advance(0);
      t.cron.tick();
      await t.clock.advance(0);
      void t.scheduler.runNow();
      await flush();
      expect(t.runs()).toBe(1);
      expect(t.concurrent()).toBe(1);
      t.finish();
      await flush();
    });
  });

  describe('when a cycle fails', () => {
    it('retries after an exponential backoff and ignores cron ticks meanwhile', async () => {
      const t = setup(['failed', 'failed', 'ok'], 0);
      t.cron.tick();
      await t.clock.advance(0);
      t.finish();
      await flush();
      expect(t.scheduler.consecutiveFailures).toBe(1);
      expect(t.clock.pending).toEqual([60_000]);
      t.cron.tick(); // during backoff: ignored
      expect(t.clock.pending).toEqual([60_000]);
      await t.clock.advance(60_000);
      expect(t.runs()).toBe(2);
      t.finish();
      await flush();
      expect(t.clock.pending).toEqual([120_000]);
      await t.clock.advance(120_000);
      expect(t.runs()).toBe(3);
      t.finish();
      await flush();
      expect(t.scheduler.consecutiveFailures).toBe(0);
      expect(t.clock.pending).toEqual([]);
    });
  });

  describe('when stopped', () => {
    it('stops cron and cancels the pending check', async () => {
      const t = setup([], 60);
      t.cron.tick();
      t.scheduler.stop();
      expect(t.cron.stopped).toBe(true);
      await t.clock.advance(120_000);
      expect(t.runs()).toBe(0);
    });
  });
});
