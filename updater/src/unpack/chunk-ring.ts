/** A run of bytes in the ring, posted to the worker in one message. */
export interface RingRegion {
  offset: number;
  length: number;
}

/**
 * The caller's side of the shared buffer that carries compressed bytes to the unpack worker.
 * Chunks are copied in at `head` and grouped into regions (one message each, a few hundred KiB:
 * a message per 64 KiB network chunk cost more than the copy); regions are released in the order
 * the worker takes them, so the used bytes stay one contiguous, wrapping span. One buffer per
 * worker, reused for every layer: a fresh ArrayBuffer per chunk is garbage the caller's GC pays for.
 */
export class ChunkRing {
  private head = 0;
  private used = 0;
  private open: (RingRegion & { held: number }) | undefined;
  /** Bytes each sealed region holds (its length plus the end-of-buffer gap skipped before it). */
  private readonly held: number[] = [];
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
  }

  /** Largest chunk placed whole; longer ones are split by the caller. */
  get maxChunk(): number {
    return this.buffer.byteLength / 4;
  }

  /** Bytes in the region not yet sealed. */
  get openLength(): number {
    return this.open?.length ?? 0;
  }

  /**
   * Copies `chunk` in, extending the open region when it follows on. False when it does not fit
   * now: seal and post the open region, or wait for the worker to release some, then retry.
   */
  tryPlace(chunk: Uint8Array): boolean {
    const size = this.bytes.length;
    let start = this.head;
    let gap = 0;
    if (start + chunk.length > size) {
      if (this.open !== undefined) return false; // a region never wraps: seal this one first
      gap = size - start;
      start = 0;
    }
    if (this.used + gap + chunk.length > size) return false;
    this.bytes.set(chunk, start);
    this.head = start + chunk.length;
    this.used += gap + chunk.length;
    if (this.open === undefined)
      this.open = { offset: start, length: chunk.length, held: gap + chunk.length };
    else {
      this.open.length += chunk.length;
      this.open.held += chunk.length;
    }
    return true;
  }

  /** Closes the open region for posting; undefined when there is none. */
  seal(): RingRegion | undefined {
    const open = this.open;
    if (open === undefined) return undefined;
    this.open = undefined;
    this.held.push(open.held);
    return { offset: open.offset, length: open.length };
  }

  /** The worker took the `count` oldest regions. */
  release(count: number): void {
    for (let i = 0; i < count; i += 1) this.used -= this.held.shift() ?? 0;
    if (this.used === 0 && this.open === undefined) this.head = 0;
  }

  /** Forgets every region (the worker is done with this layer). */
  reset(): void {
    this.head = 0;
    this.used = 0;
    this.open = undefined;
    this.held.length = 0;
  }
}
