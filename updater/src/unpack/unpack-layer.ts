import { realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMinerhaulError, MinerhaulError } from '@minerhaul/signing';
import { LayerApplier, type SkippedEntry, type UnpackOwner } from './layer-applier';
import { chooseCompression, createDecompressor, type Compression } from './layer-compression';
import { TarReader } from './tar-reader';
import { mapFsError, unsafeArchive } from './unpack-errors';

/** Defaults for the decompression-bomb caps (docs/decisions/0303). */
export const DEFAULT_MAX_LAYER_BYTES = 16 * 1024 ** 3;
export const DEFAULT_MAX_RATIO = 250;
/** The ratio is only judged past this many uncompressed bytes: tiny layers compress absurdly well. */
export const RATIO_FLOOR_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_ENTRIES = 1_000_000;
const MAX_META_BYTES = 1024 * 1024;

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
  /** Called with each count of file bytes just written, e.g. a free-space guard. */
  onWritten?: (bytes: number) => Promise<void>;
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
 * Hostile entries refuse the whole layer with E_UNSAFE_ARCHIVE; the caller discards the release
 * directory on any failure (unpackImage does).
 */
export async function unpackLayer(stream: Readable, opts: UnpackLayerOptions): Promise<UnpackLayerResult> {
  const root = await realpath(opts.destDir).catch((err: unknown) => {
    stream.destroy();
    throw new MinerhaulError('E_CONFIG', `unpack destination ${opts.destDir} does not exist`, { cause: err });
  });
  if (root === '/') throw new MinerhaulError('E_CONFIG', 'refusing to unpack a layer onto /');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const maxRatio = opts.maxRatio ?? DEFAULT_MAX_RATIO;
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
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
    const source = async function* (): AsyncGenerator<Buffer> {
      try {
        for (const chunk of head) {
          compressedBytes += chunk.length;
          yield chunk;
        }
        for (;;) {
          const r = await iterator.next();
          if (r.done) return;
          compressedBytes += r.value.length;
          yield r.value;
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
    stream.destroy();
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
