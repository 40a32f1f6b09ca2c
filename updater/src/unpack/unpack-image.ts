import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { MinerhaulError, withContext } from '@minerhaul/signing';
import type { UnpackOwner } from './layer-applier';
import { unpackLayer, type UnpackLayerResult } from './unpack-layer';

/** The part of an OCI descriptor the unpacker needs. */
export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A layer to apply: `open` yields the blob as stored (compressed), already digest-checked or checking. */
export interface ImageLayer {
  descriptor: LayerDescriptor;
  /** From the image config's rootfs.diff_ids, same index. */
  diffId: string;
  open(): Promise<Readable>;
}

export interface UnpackImageOptions {
  maxBytes?: number;
  maxRatio?: number;
  maxEntries?: number;
  owner?: UnpackOwner;
  signal?: AbortSignal;
  /** Flush the file system before the release directory is renamed into place (default true). */
  durable?: boolean;
  /** Called before each layer is applied (free-space checks, progress). */
  beforeLayer?: (index: number, layer: ImageLayer) => Promise<void>;
  /** Free-space guard while writing (see unpackLayer's onWritten). */
  onWritten?: (bytes: number) => Promise<void>;
}

export interface UnpackImageResult {
  destDir: string;
  layers: Array<UnpackLayerResult & { digest: string }>;
}

/**
 * Applies an image's layers in order into `destDir` (IS manifest.md: index 0 is the base). The
 * layers go into a fresh 0700 staging directory beside `destDir` that is renamed into place only
 * when every layer applied and matched its diff_id (protocol-reference §5.5 item 2); on any
 * failure the staging directory is removed and `destDir` is untouched. `destDir` must not exist
 * or be an empty directory.
 */
export async function unpackImage(
  layers: readonly ImageLayer[],
  destDir: string,
  opts: UnpackImageOptions = {},
): Promise<UnpackImageResult> {
  const target = resolve(destDir);
  await assertFreshTarget(target);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(target)}.staging-`));
  const results: UnpackImageResult['layers'] = [];
  try {
    for (const [index, layer] of layers.entries()) {
      opts.signal?.throwIfAborted();
      await opts.beforeLayer?.(index, layer);
      opts.signal?.throwIfAborted();
      const stream = await layer.open();
      try {
        const result = await unpackLayer(stream, {
          mediaType: layer.descriptor.mediaType,
          destDir: staging,
          expectedDiffId: layer.diffId,
          maxBytes: opts.maxBytes,
          maxRatio: opts.maxRatio,
          maxEntries: opts.maxEntries,
          owner: opts.owner,
          signal: opts.signal,
          onWritten: opts.onWritten,
          // The release is flushed before its rename: start each big file's writeback early.
          earlyWriteback: opts.durable ?? true,
        });
        results.push({ ...result, digest: layer.descriptor.digest });
      } catch (err) {
        withContext(err, `layer ${index} (${layer.descriptor.digest})`);
      }
    }
    await chmod(staging, 0o755);
    if (opts.owner) await chown(staging, opts.owner.uid, opts.owner.gid);
    if (opts.durable ?? true) await syncFileSystem(staging);
    await assertFreshTarget(target);
    await rmdir(target).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(staging, target);
    await fsyncDir(parent);
    return { destDir: target, layers: results };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function assertFreshTarget(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new MinerhaulError('E_CONFIG', `${target} exists and is not a directory`);
    throw err;
  }
  if (entries.length > 0)
    throw new MinerhaulError('E_CONFIG', `${target} is not empty`, { details: { path: target } });
}

/**
 * One syncfs(2) for the whole release instead of an fsync per file (which would cost more than
 * the unpack itself): `sync -f` from coreutils. Node has no syncfs binding.
 */
async function syncFileSystem(path: string): Promise<void> {
  await promisify(execFile)('sync', ['-f', path]);
}

export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
