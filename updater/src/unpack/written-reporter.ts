import type { FromWorker } from './worker-protocol';

/** Counts are posted in batches of this many bytes (a message per 4 KiB file would cost more than the file). */
const POST_EVERY = 1024 * 1024;
/**
 * The worker waits for the caller's verdict after this many bytes: a free-space guard that says
 * stop is obeyed within this much, against a round trip every few MiB.
 */
const VERDICT_EVERY = 8 * 1024 * 1024;

/** Verdict ids never repeat on a worker, so a late answer for one layer cannot release the next. */
let lastVerdictId = 0;

/**
 * The worker's side of the caller's `onWritten` guard (e.g. free space): written-byte counts go
 * to the caller's thread, which judges them in order, and the writes pause for its verdict every
 * VERDICT_EVERY bytes and at the end of the layer. A refusal arrives as an abort.
 */
export class WrittenReporter {
  private unposted = 0;
  private unjudged = 0;
  private waiting: { id: number; resolve: () => void; reject: (err: unknown) => void } | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly post: (message: FromWorker) => void,
    private readonly postEvery = POST_EVERY,
    private readonly verdictEvery = VERDICT_EVERY,
  ) {}

  /** The applier's onWritten: undefined (no wait) except every VERDICT_EVERY bytes. */
  readonly onWritten = (bytes: number): Promise<void> | undefined => {
    if (this.failure) return Promise.reject(this.failure.error);
    this.unposted += bytes;
    this.unjudged += bytes;
    if (this.unjudged >= this.verdictEvery) return this.askVerdict();
    if (this.unposted >= this.postEvery) this.postWritten();
    return undefined;
  };

  /** Waits until every count so far has been judged (end of the layer). */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    return this.unjudged > 0 || this.unposted > 0 ? this.askVerdict() : Promise.resolve();
  }

  verdict(id: number): void {
    if (this.waiting?.id !== id) return;
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve();
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private askVerdict(): Promise<void> {
    lastVerdictId += 1;
    const id = lastVerdictId;
    this.unjudged = 0;
    this.postWritten(id);
    return new Promise((resolve, reject) => {
      this.waiting = { id, resolve, reject };
    });
  }

  private postWritten(verdictId?: number): void {
    this.post({ type: 'written', bytes: this.unposted, ...(verdictId === undefined ? {} : { verdictId }) });
    this.unposted = 0;
  }
}
