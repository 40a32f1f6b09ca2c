import { realpath } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMinerhaulError, MinerhaulError } from '@minerhaul/signing';
import type { EarlyWriteback } from './early-writeback';
import { LayerApplier } from './layer-applier';
import { chooseCompression, createDecompressor, type Compression } from './layer-compression';
import {
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_LAYER_BYTES,
  DEFAULT_MAX_RATIO,
  MAX_META_BYTES,
  RATIO_FLOOR_BYTES,
} from './layer-limits';
import { TarReader } from './tar-reader';
import { mapFsError, unsafeArchive } from './unpack-errors';
import type { UnpackLayerOptions, UnpackLayerResult } from './unpack-layer';

/** What the layer's own thread needs: the options minus the callbacks that stay on the caller's side. */
export interface ApplyLayerOptions extends Omit<UnpackLayerOptions, 'onWritten' | 'earlyWriteback'> {
  /** The thread's early writeback, shared by the layers of an image (layer-applier.ts). */
  writeback?: EarlyWriteback;
  onWritten?: (bytes: number) => Promise<void> | undefined;
  /** Write small files with synchronous calls instead of concurrent thread-pool jobs. */
  syncWrites?: boolean;
  /**
   * Marks the input chunks as borrowed: their memory is the caller's, to be reused once this is
   * called with a running total of input bytes the layer no longer reads.
   */
  onInputReleased?: (bytes: number) => void;
}

/**
 * Applies one OCI layer from `input` (the blob as stored: compressed or not) onto `destDir` in a
 * single pass: sniff → decompress → parse → apply, hashing the uncompressed bytes on the way. Runs
 * on the unpack worker (unpack-layer.ts feeds it); when it settles, no write of the layer is left
 * in flight.
 */
export async function applyLayerStream(
  input: AsyncIterable<Buffer>,
  opts: ApplyLayerOptions,
): Promise<UnpackLayerResult> {
  const iterator = input[Symbol.asyncIterator]();
  const root = await realpath(opts.destDir).catch(async (err: unknown) => {
    await iterator.return?.();
    throw new MinerhaulError('E_CONFIG', `unpack destination ${opts.destDir} does not exist`, { cause: err });
  });
  if (root === '/') throw new MinerhaulError('E_CONFIG', 'refusing to unpack a layer onto /');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const maxRatio = opts.maxRatio ?? DEFAULT_MAX_RATIO;
  let compressedBytes = 0;
  let compression: Compression = 'none';
  let decompressError: unknown;
  // Errors raised by the source or the applier: the pipeline also destroys the decompressor with
  // them, so they must not be mistaken for a corrupt stream.
  const foreignErrors = new Set<unknown>();
  let applier: LayerApplier | undefined;
  try {
    // Peek at the first bytes for the magic-number check, then replay them.
    const head: Buffer[] = [];
    let headLength = 0;
    while (headLength < 4) {
      const r = await iterator.next();
      if (r.done) break;
      head.push(r.value);
      headLength += r.value.length;
    }
    compression = chooseCompression(opts.mediaType, Buffer.concat(head));
    // Borrowed input (the worker's shared ring): gzip reads the caller's memory in place and says
    // how much it consumed (zlib's bytesWritten); anything else gets a copy, released at once.
    const borrowed = opts.onInputReleased;
    const inPlace = borrowed !== undefined && compression === 'gzip';
    const take = (chunk: Buffer): Buffer => {
      compressedBytes += chunk.length;
      return borrowed === undefined || inPlace ? chunk : Buffer.from(chunk);
    };
    const source = async function* (): AsyncGenerator<Buffer> {
      try {
        for (const chunk of head) yield take(chunk);
        for (;;) {
          borrowed?.(
            inPlace ? (decompressor as Transform & { bytesWritten: number }).bytesWritten : compressedBytes,
          );
          const r = await iterator.next();
          if (r.done) return;
          yield take(r.value);
        }
      } catch (err) {
        foreignErrors.add(err);
        throw err;
      } finally {
        await iterator.return?.();
      }
    };
    const layerApplier = new LayerApplier(root, {
      owner: opts.owner,
      maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
      onWritten: opts.onWritten,
      syncWrites: opts.syncWrites,
      writeback: opts.writeback,
    });
    applier = layerApplier;
    let diffId = '';
    let uncompressedBytes = 0;
    const consume = async (tar: AsyncIterable<Buffer>): Promise<void> => {
      try {
        await applyAll(tar);
      } catch (err) {
        foreignErrors.add(err);
        throw err;
      }
    };
    const applyAll = async (tar: AsyncIterable<Buffer>): Promise<void> => {
      const reader = new TarReader(tar, {
        maxBytes,
        maxMetaBytes: MAX_META_BYTES,
        onBytes: (total) => {
          if (compression !== 'none' && total > RATIO_FLOOR_BYTES && total > maxRatio * compressedBytes) {
            throw unsafeArchive('decompression ratio too high (decompression bomb?)', {
              maxRatio,
              total,
              compressedBytes,
            });
          }
        },
      });
      for (;;) {
        opts.signal?.throwIfAborted();
        const entry = await reader.next();
        if (entry === undefined) break;
        await layerApplier.apply(entry, reader);
      }
      await layerApplier.finish();
      diffId = await reader.finish();
      uncompressedBytes = reader.bytesRead;
    };
    const decompressor = createDecompressor(compression);
    // Whatever the decompressor itself fails with (zlib Z_* codes, zstd-napi's plain Errors) is a
    // corrupt stream, told apart from file-system errors by identity.
    decompressor?.once('error', (err) => {
      if (!foreignErrors.has(err)) decompressError = err;
    });
    const pipeOptions = opts.signal ? { signal: opts.signal } : {};
    if (decompressor) await pipeline(source, decompressor, consume, pipeOptions);
    else await pipeline(source, consume, pipeOptions);

    if (opts.expectedDiffId !== undefined && opts.expectedDiffId !== diffId) {
      throw new MinerhaulError('E_DIGEST', 'layer content does not match its diff_id', {
        details: { expected: opts.expectedDiffId, actual: diffId },
      });
    }
    return {
      diffId,
      bytesWritten: layerApplier.stats.bytesWritten,
      entries: layerApplier.stats.entries,
      compression,
      compressedBytes,
      uncompressedBytes,
      skipped: layerApplier.stats.skipped,
      droppedXattrs: layerApplier.stats.droppedXattrs,
    };
  } catch (err) {
    await iterator.return?.();
    await applier?.settle(); // no queued write may land after the caller removes the directory
    if (err === decompressError && err !== undefined) {
      throw unsafeArchive(`corrupt ${compression} stream`, { reason: (err as Error).message });
    }
    throw classify(err, opts.destDir, compression);
  }
}

/** Corrupt compressed data is a hostile layer; a full disk is E_NO_SPACE; the rest passes through. */
function classify(err: unknown, destDir: string, compression: Compression): unknown {
  if (isMinerhaulError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (
    typeof code === 'string' &&
    (code.startsWith('Z_') || code === 'ERR_ZSTD' || /zstd/i.test(String(err)))
  ) {
    return unsafeArchive(`corrupt ${compression} stream`, { reason: (err as Error).message });
  }
  return mapFsError(err, destDir);
}
