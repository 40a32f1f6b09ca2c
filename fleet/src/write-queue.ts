import type { FleetStore } from './fleet-store';
import type { IngestOutcome, VerifiedReport } from './ingest-plan';

export interface WriteQueueOptions {
  /** Flush as soon as this many reports wait. */
  maxBatch: number;
  /** ...or this long after the first one arrived (ms). */
  maxDelayMs: number;
  /** Start of the history bucket for a given instant (ms). */
  bucketOf: (now: number) => number;
  now: () => number;
}

interface Pending {
  item: VerifiedReport;
  resolve: (o: IngestOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Collects verified reports and writes them in batches, one transaction each: thousands of
 * reports per second instead of one fsync per report. One flush runs at a time; reports arriving
 * meanwhile form the next batch.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: FleetStore,
    private readonly options: WriteQueueOptions,
  ) {}

  /** Resolves with the store's decision once the batch holding `item` is committed. */
  submit(item: VerifiedReport): Promise<IngestOutcome> {
    if (this.closed) return Promise.reject(new Error('write queue is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.options.maxBatch) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.options.maxDelayMs);
    });
  }

  private kick(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing !== undefined || this.pending.length === 0) return;
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = undefined;
      if (this.pending.length >= this.options.maxBatch) this.kick();
      else if (this.pending.length > 0) this.timer ??= setTimeout(() => this.kick(), this.options.maxDelayMs);
    });
  }

  private async flushOnce(): Promise<void> {
    const batch = this.pending.splice(0, this.options.maxBatch);
    try {
      const outcomes = await this.store.ingest(
        batch.map((p) => p.item),
        { bucket: this.options.bucketOf(this.options.now()) },
      );
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if (o === undefined) p.reject(new Error('store returned fewer outcomes than reports'));
        else p.resolve(o);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Writes everything still waiting, then refuses new reports. */
  async close(): Promise<void> {
    this.closed = true;
    for (let i = 0; i < 1_000_000 && (this.pending.length > 0 || this.flushing !== undefined); i++) {
      this.kick();
      await this.flushing;
    }
  }
}
