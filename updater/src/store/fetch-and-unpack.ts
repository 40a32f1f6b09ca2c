import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { unpackImage, type LayerDescriptor, type UnpackImageResult } from '../unpack/unpack-image';
import type { UnpackOwner } from '../unpack/layer-applier';
import type { BlobProgress, BlobSource, BlobStore } from './blob-store';
import { ensureFreeSpace, spaceGuard } from './free-space';

export interface FetchAndUnpackOptions {
  store: BlobStore;
  /** The image's layers in manifest order, each with its diff_id from the (verified) config. */
  layers: ReadonlyArray<{ descriptor: LayerDescriptor; diffId: string }>;
  /** Where missing blobs come from, e.g. `(d, offset, signal) => imageStore.openBlob(d, { offset, signal })`. */
  source: BlobSource;
  /** The release directory to create (must not exist, or be empty). */
  destDir: string;
  signal?: AbortSignal;
  maxBytes?: number;
  maxRatio?: number;
  owner?: UnpackOwner;
  /** Flush before the release directory is renamed into place (default true). */
  durable?: boolean;
  onProgress?: (p: BlobProgress) => void;
}

export interface FetchAndUnpackResult extends UnpackImageResult {
  /** Bytes downloaded from the source in this call (resumed bytes not counted twice). */
  bytesFetched: number;
  /** Per layer, in order: true when it came from the store rather than the source. */
  fromStore: boolean[];
}

/**
 * One streaming pass per layer (the "download → hash → decompress → unpack, not three"):
 * a held layer is read from the store and never fetched again; a missing one is streamed from the
 * source, hashed and teed into the store (kept only if its digest matches) while it is decompressed
 * and applied. Free space is checked before download and before unpack (E_NO_SPACE) and guarded
 * while writing; the staging release directory is discarded on any failure (unpackImage).
 */
export async function fetchAndUnpack(opts: FetchAndUnpackOptions): Promise<FetchAndUnpackResult> {
  const { store } = opts;
  const destParent = dirname(resolve(opts.destDir));
  await mkdir(destParent, { recursive: true });

  let downloadBytes = 0;
  let compressedTotal = 0;
  for (const { descriptor } of opts.layers) {
    compressedTotal += descriptor.size;
    if (!(await store.has(descriptor.digest))) {
      downloadBytes += Math.max(0, descriptor.size - (await store.partialSize(descriptor.digest)));
    }
  }
  // Before download: the missing blobs plus the reserve. Before unpack: the release takes at least
  // the compressed size of its layers; the guard below catches the (unknown) rest while writing.
  const sameDisk = (await stat(store.root)).dev === (await stat(destParent)).dev;
  if (sameDisk) {
    await store.ensureSpace(downloadBytes + compressedTotal, 'download and unpack');
  } else {
    await store.ensureSpace(downloadBytes, 'download');
    await ensureFreeSpace(destParent, compressedTotal + store.reserveBytes, 'unpack', store.spaceProbe);
  }

  let bytesFetched = 0;
  const fromStore: boolean[] = [];
  const result = await unpackImage(
    opts.layers.map((layer, index) => ({
      descriptor: layer.descriptor,
      diffId: layer.diffId,
      open: async () => {
        const blob = { digest: layer.descriptor.digest, size: layer.descriptor.size };
        const resumeFrom = await store.partialSize(blob.digest);
        const opened = await store.open(blob, opts.source, {
          signal: opts.signal,
          onProgress: (p) => {
            opts.onProgress?.(p);
          },
        });
        fromStore[index] = opened.fromStore;
        if (!opened.fromStore) bytesFetched += Math.max(0, blob.size - resumeFrom);
        return opened.stream;
      },
    })),
    opts.destDir,
    {
      maxBytes: opts.maxBytes,
      maxRatio: opts.maxRatio,
      owner: opts.owner,
      signal: opts.signal,
      durable: opts.durable,
      onWritten: spaceGuard(destParent, store.reserveBytes, store.spaceProbe),
    },
  ).catch(async (err: unknown) => {
    await store.settle().catch(() => undefined); // the layer's own error is the one to report
    throw err;
  });
  // Each blob is flushed into the store while the next layer downloads; all are held, or the
  // stage fails, before the caller journals it.
  await store.settle();
  return { ...result, bytesFetched, fromStore };
}
