import { backoffDelayMs } from './backoff';
import type { Clock } from './clock';
import type { CronTrigger } from './cron-trigger';
import { jitterDelayMs } from './jitter';
import { SingleFlight } from './single-flight';

export type CycleResult = 'ok' | 'failed';

export interface CycleSchedulerOptions {
  cron: string;
  jitterSeconds: number;
  backoffBaseSeconds: number;
  maxBackoffSeconds: number;
  clock: Clock;
  cronTrigger: CronTrigger;
  runCycle: () => Promise<CycleResult>;
  random?: () => number;
  /** Told when the next check is due, for `agent status`. */
  onNextCheck?: (at: number | undefined) => void;
}

/**
 * When checks run: on each cron tick after a random jitter; after a failed cycle, a retry after an
 * exponential backoff instead (ticks during backoff are ignored); never two cycles at once.
 */
export class CycleScheduler {
  private readonly flight: SingleFlight<CycleResult>;
  private failures = 0;
  private backoffUntil = 0;
  private cancelPending: (() => void) | undefined;
  private cron: { stop(): void } | undefined;
  private stopped = false;

  constructor(private readonly options: CycleSchedulerOptions) {
    this.flight = new SingleFlight(() => this.runAndAccount());
  }

  start(): void {
    this.stopped = false;
    this.cron = this.options.cronTrigger(this.options.cron, () => this.onTick());
  }

  stop(): void {
    this.stopped = true;
    this.cron?.stop();
    this.cancelPending?.();
    this.cancelPending = undefined;
    this.options.onNextCheck?.(undefined);
  }

  /** Consecutive failed cycles (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  get busy(): boolean {
    return this.flight.busy;
  }

  /** Runs a cycle now (or joins the running one): `agent check` through the API, and the first check at start. */
  runNow(): Promise<CycleResult> {
    return this.flight.run();
  }

  /** Schedules a check after a random jitter, unless one is pending or a backoff retry owns the next one. */
  scheduleJittered(): void {
    this.onTick();
  }

  private onTick(): void {
    if (this.stopped || this.cancelPending !== undefined) return;
    // During backoff the retry timer owns the next attempt.
    if (this.options.clock.now() < this.backoffUntil) return;
    const delay = jitterDelayMs(this.options.jitterSeconds, this.options.random);
    this.schedule(delay);
  }

  private schedule(delayMs: number): void {
    this.cancelPending?.();
    this.options.onNextCheck?.(this.options.clock.now() + delayMs);
    this.cancelPending = this.options.clock.setTimer(() => {
      this.cancelPending = undefined;
      this.options.onNextCheck?.(undefined);
      void this.flight.run();
    }, delayMs);
  }

  private async runAndAccount(): Promise<CycleResult> {
    let result: CycleResult;
    try {
      result = await this.options.runCycle();
    } catch {
      result = 'failed';
    }
    if (result === 'ok') {
      this.failures = 0;
      this.backoffUntil = 0;
    } else {
      this.failures += 1;
      const delay = backoffDelayMs(
        this.failures,
        { baseMs: this.options.backoffBaseSeconds * 1000, maxMs: this.options.maxBackoffSeconds * 1000 },
        this.options.random,
      );
      this.backoffUntil = this.options.clock.now() + delay;
      if (!this.stopped) this.schedule(delay);
    }
    return result;
  }
}
