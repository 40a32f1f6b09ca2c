import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { isMinerhaulError } from '@minerhaul/signing';
import { ChunkRing } from './chunk-ring';
import { mapFsError } from './unpack-errors';
import type { UnpackLayerOptions, UnpackLayerResult } from './unpack-layer';
import { deserializeError, type FromWorker, type LayerJob, type ToWorker } from './worker-protocol';

/**
 * The shared ring's size: compressed bytes placed but not yet released by the worker (consumed by
 * its decompressor). The download runs ahead of the unpack by this much, no more.
 */
const RING_BYTES = 16 * 1024 * 1024;

/** Bytes gathered before a region is posted: one message per region, not per network chunk. */
const MESSAGE_BYTES = 256 * 1024;

const rings = new WeakMap<Worker, ChunkRing>();

function ringOf(worker: Worker): ChunkRing {
  let ring = rings.get(worker);
  if (ring === undefined) {
    ring = new ChunkRing(new SharedArrayBuffer(RING_BYTES));
    rings.set(worker, ring);
  }
  return ring;
}

export type LayerOutcome =
  | { ok: true; result: UnpackLayerResult; reusable: boolean }
  | { ok: false; error: unknown; reusable: boolean };

type WorkerEnd =
  | { kind: 'done'; result: UnpackLayerResult }
  | { kind: 'failed'; error: unknown }
  | { kind: 'died'; error: unknown };

/**
 * Feeds one layer to an unpack worker and waits for its last word: the stream is read here with
 * bounded bytes in flight, written-byte counts are judged here by `onWritten`, and a failure on
 * this side (the stream, the guard, the signal) aborts the worker and waits until it has settled
 * its writes. Resolves only once the worker is idle or gone: nothing of the layer lands later.
 */
export function runLayerOnWorker(
  worker: Worker,
  stream: Readable,
  opts: UnpackLayerOptions,
): Promise<LayerOutcome> {
  return new LayerSession(worker, stream, opts).run();
}

class LayerSession {
  private readonly ring: ChunkRing;
  private creditWaiter: (() => void) | undefined;
  private workerEnd: WorkerEnd | undefined;
  private onWorkerEnd: ((end: WorkerEnd) => void) | undefined;
  /** Why this side stopped the layer; it wins over what the worker reports afterwards. */
  private stopped: { error: unknown } | undefined;
  private judging: Promise<void> = Promise.resolve();
  private workerError: unknown;

  constructor(
    private readonly worker: Worker,
    private readonly stream: Readable,
    private readonly opts: UnpackLayerOptions,
  ) {
    this.ring = ringOf(worker);
    this.ring.reset(); // the worker ended its last layer: nothing of it is still in the ring
  }

  async run(): Promise<LayerOutcome> {
    const { worker, opts } = this;
    const ended = new Promise<WorkerEnd>((resolve) => (this.onWorkerEnd = resolve));
    const onMessage = (message: FromWorker): void => this.receive(message);
    const onError = (err: unknown): void => {
      this.workerError ??= err;
    };
    const onExit = (code: number): void =>
      this.end({
        kind: 'died',
        error: this.workerError ?? new Error(`unpack worker exited with code ${code} mid-layer`),
      });
    const onAbort = (): void => this.stop(opts.signal?.reason);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.send({ type: 'start', job: jobOf(opts), ring: this.ring.buffer });
      const pumping = this.pump();
      const end = await ended;
      this.wake();
      await pumping;
      await this.judging;
      if (end.kind !== 'done' || this.stopped) this.stream.destroy();
      const reusable = end.kind !== 'died';
      if (this.stopped) return { ok: false, error: classify(this.stopped.error, opts.destDir), reusable };
      if (end.kind === 'done') return { ok: true, result: end.result, reusable };
      return { ok: false, error: classify(end.error, opts.destDir), reusable };
    } finally {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads the stream and places its chunks in the ring, at most RING_BYTES ahead of the worker. */
  private async pump(): Promise<void> {
    const iterator = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        if (this.over()) return;
        // A stop destroys the stream, which ends a pending next().
        const next = await iterator.next();
        if (this.over()) return;
        if (next.done) {
          this.post();
          this.send({ type: 'end' });
          return;
        }
        const step = this.ring.maxChunk;
        for (let at = 0; at < next.value.length; at += step) {
          const piece = next.value.subarray(at, at + step);
          while (!this.ring.tryPlace(piece)) {
            // Full or wrapping: post what is open, or wait for the worker to take some.
            if (this.post()) continue;
            await new Promise<void>((resolve) => (this.creditWaiter = resolve));
            if (this.over()) return;
          }
          if (this.ring.openLength >= MESSAGE_BYTES) this.post();
        }
      }
    } catch (err) {
      this.stop(err);
    }
  }

  /** Posts the ring's open region; false when there was none. */
  private post(): boolean {
    const region = this.ring.seal();
    if (region === undefined) return false;
    this.send({ type: 'chunk', offset: region.offset, length: region.length });
    return true;
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'consumed':
        this.ring.release(message.regions);
        this.wake();
        break;
      case 'written':
        this.judge(message.bytes, message.verdictId);
        break;
      case 'done':
        this.end({ kind: 'done', result: message.result });
        break;
      case 'failed':
        this.end({ kind: 'failed', error: deserializeError(message.error) });
        break;
    }
  }

  /** Counts are judged in order; a refusal stops the layer, a verdict lets the worker go on. */
  private judge(bytes: number, verdictId: number | undefined): void {
    const onWritten = this.opts.onWritten;
    this.judging = this.judging
      .then(async () => {
        if (this.stopped || this.workerEnd) return;
        if (bytes > 0 && onWritten) await onWritten(bytes);
        if (verdictId !== undefined && !this.stopped) this.send({ type: 'verdict', id: verdictId });
      })
      .catch((err: unknown) => this.stop(err));
  }

  /** Stops the layer from this side: the worker is told to abort and answers once settled. */
  private stop(error: unknown): void {
    // Once the worker has ended, a failure here (the stream destroyed by end()) is only an echo.
    if (this.stopped || this.workerEnd) return;
    this.stopped = { error };
    this.wake();
    this.send({ type: 'abort' });
    this.stream.destroy();
  }

  private end(end: WorkerEnd): void {
    if (this.workerEnd) return;
    this.workerEnd = end;
    this.onWorkerEnd?.(end);
    if (end.kind !== 'done') this.stream.destroy(); // no more input: stop reading now
    this.wake();
  }

  private over(): boolean {
    return this.stopped !== undefined || this.workerEnd !== undefined;
  }

  private wake(): void {
    const waiter = this.creditWaiter;
    this.creditWaiter = undefined;
    waiter?.();
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

function jobOf(opts: UnpackLayerOptions): LayerJob {
  const job: LayerJob = { mediaType: opts.mediaType, destDir: opts.destDir, reportWritten: !!opts.onWritten };
  if (opts.expectedDiffId !== undefined) job.expectedDiffId = opts.expectedDiffId;
  if (opts.maxBytes !== undefined) job.maxBytes = opts.maxBytes;
  if (opts.maxRatio !== undefined) job.maxRatio = opts.maxRatio;
  if (opts.maxEntries !== undefined) job.maxEntries = opts.maxEntries;
  if (opts.earlyWriteback !== undefined) job.earlyWriteback = opts.earlyWriteback;
  if (opts.owner !== undefined) job.owner = { uid: opts.owner.uid, gid: opts.owner.gid };
  return job;
}

/** A full disk on this side (the blob store's tee) is E_NO_SPACE too; codes pass through. */
function classify(err: unknown, destDir: string): unknown {
  return isMinerhaulError(err) ? err : mapFsError(err, destDir);
}
