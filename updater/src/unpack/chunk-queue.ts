/** Where a posted chunk sits in the shared buffer. */
export interface ChunkRef {
  offset: number;
  length: number;
}

/**
 * The unpack worker's input: regions of compressed bytes the caller's thread placed in the shared
 * ring, handed out in order as an async iterator of views into the ring (no copy). The consumer
 * reports how many bytes it no longer reads (`release`); `onReleased` then tells the caller those
 * regions' place may be reused, which is its credit to send more.
 */
export class ChunkQueue implements AsyncIterableIterator<Buffer> {
  private readonly chunks: ChunkRef[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private waiter:
    { resolve: (r: IteratorResult<Buffer>) => void; reject: (err: unknown) => void } | undefined;

  constructor(
    private readonly ring: SharedArrayBuffer,
    private readonly onReleased: (regions: number) => void,
  ) {}

  /** Running totals of bytes at the end of each region handed out and not yet released. */
  private readonly takenEnds: number[] = [];
  private takenTotal = 0;

  /** The consumer no longer reads the first `total` bytes it was given. */
  release(total: number): void {
    let regions = 0;
    while (this.takenEnds.length > 0 && (this.takenEnds[0] as number) <= total) {
      this.takenEnds.shift();
      regions += 1;
    }
    if (regions > 0) this.onReleased(regions);
  }

  push(chunk: ChunkRef): void {
    if (this.ended || this.failure) return;
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.chunks.push(chunk);
      return;
    }
    this.waiter = undefined;
    waiter.resolve({ value: this.take(chunk), done: false });
  }

  /** No more chunks: the iterator ends once the queued ones are taken. */
  end(): void {
    this.ended = true;
    if (this.chunks.length === 0) this.wake();
  }

  /** Fails the consumer's current and next reads (abort). */
  fail(error: unknown): void {
    this.failure ??= { error };
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.failure) return Promise.reject(this.failure.error);
    const chunk = this.chunks.shift();
    if (chunk !== undefined) return Promise.resolve({ value: this.take(chunk), done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer stops early: queued chunks are dropped, later ones ignored. */
  return(): Promise<IteratorResult<Buffer>> {
    this.ended = true;
    this.chunks.length = 0;
    this.wake();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(chunk: ChunkRef): Buffer {
    this.takenTotal += chunk.length;
    this.takenEnds.push(this.takenTotal);
    return Buffer.from(this.ring, chunk.offset, chunk.length);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }
}
