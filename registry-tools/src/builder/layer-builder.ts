import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor } from '../image-store';
import { DigestTap } from './digest-tap';
import { type Compression, LAYER_MEDIA_TYPES, createLayerCompressors } from './layer-compression';
import { tarStream } from './tar-stream';
import type { TreeEntry } from './tree-walker';

export interface BuiltLayer {
  descriptor: Descriptor;
  /** Digest of the uncompressed tar (image-spec config.md "Layer DiffID"). */
  diffId: string;
  /** Staging file holding the compressed blob. */
  path: string;
}

/**
 * Writes one layer to `stageDir`: tar → (hash = diff_id) → compress → (hash = digest) → file,
 * in one streaming pass; nothing is held in memory.
 */
export async function buildLayer(
  entries: readonly TreeEntry[],
  options: { mtime: number; compression: Compression; stageDir: string; name: string },
): Promise<BuiltLayer> {
  const path = join(options.stageDir, `${options.name}.layer`);
  const uncompressed = new DigestTap();
  const compressed = new DigestTap();
  try {
    await pipeline([
      tarStream(entries, options.mtime),
      uncompressed,
      ...createLayerCompressors(options.compression),
      compressed,
      createWriteStream(path),
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new MinerhaulError(
        'E_NO_SPACE',
        `not enough disk space to stage a layer in ${options.stageDir}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  return {
    descriptor: {
      mediaType: LAYER_MEDIA_TYPES[options.compression],
      digest: compressed.digest(),
      size: compressed.size,
    },
    diffId: uncompressed.digest(),
    path,
  };
}
