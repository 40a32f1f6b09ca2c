import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { SkippedEntry, UnpackOwner } from './layer-applier';
import type { Compression } from './layer-compression';
import { runLayerOnWorker } from './layer-worker-session';
import { acquireUnpackWorker, releaseUnpackWorker } from './unpack-worker-pool';

export {
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_LAYER_BYTES,
  DEFAULT_MAX_RATIO,
  RATIO_FLOOR_BYTES,
} from './layer-limits';

export interface UnpackLayerOptions {
  mediaType: string;
  /** Existing directory the layer is applied to (the release being built). */
  destDir: string;
  /** `sha256:<hex>` from the image config's rootfs.diff_ids; mismatch → E_DIGEST. */
  expectedDiffId?: string;
  /** Cap on uncompressed bytes (the decompressed tar stream). */
  maxBytes?: number;
  /** Cap on uncompressed:compressed bytes, judged past RATIO_FLOOR_BYTES. */
  maxRatio?: number;
  maxEntries?: number;
  /** Owner of everything written; default: the unpacking user. */
  owner?: UnpackOwner;
  signal?: AbortSignal;
  /**
   * Called with counts of file bytes written, e.g. a free-space guard; a rejection stops the layer
   * within a few MiB of writes (they are counted on the unpack worker and judged here, in order).
   */
  onWritten?: (bytes: number) => Promise<void>;
  /**
   * Flush each big file as it is closed (fdatasync on the thread pool, never waited for while
   * writing): for callers that sync the tree afterwards, which then finds little left to flush.
   */
  earlyWriteback?: boolean;
}

export interface UnpackLayerResult {
  /** `sha256:<hex>` of the uncompressed tar stream. */
  diffId: string;
  /** File data bytes written to disk. */
  bytesWritten: number;
  /** Tar entries applied (including whiteouts and skipped ones). */
  entries: number;
  compression: Compression;
  compressedBytes: number;
  uncompressedBytes: number;
  skipped: SkippedEntry[];
  droppedXattrs: number;
}

/**
 * Applies one OCI layer from `stream` (the blob as stored: compressed or not) onto `destDir` in a
 * single pass: sniff → decompress → parse → apply, hashing the uncompressed bytes on the way.
 * The stream is read on this thread (where download, digest check and blob store run) and the
 * layer applied on a worker thread (docs/decisions/0307). Hostile entries refuse the whole layer
 * with E_UNSAFE_ARCHIVE; when this rejects, no write of the layer is still in flight, and the
 * caller discards the release directory (unpackImage does).
 */
export async function unpackLayer(stream: Readable, opts: UnpackLayerOptions): Promise<UnpackLayerResult> {
  let worker: Worker;
  try {
    opts.signal?.throwIfAborted();
    worker = acquireUnpackWorker();
  } catch (err) {
    stream.destroy();
    throw err;
  }
  let reusable = false;
  try {
    const outcome = await runLayerOnWorker(worker, stream, opts);
    reusable = outcome.reusable;
    if (outcome.ok) return outcome.result;
    throw outcome.error;
  } finally {
    releaseUnpackWorker(worker, reusable);
  }
}
