import { Transform, type TransformCallback } from 'node:stream';
import { constants, createGzip } from 'node:zlib';
import { MinerhaulError } from '@minerhaul/signing';

export type Compression = 'gzip' | 'zstd';

/** image-spec media-types.md / layer.md: the layer media type for each compression. */
export const LAYER_MEDIA_TYPES: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** RFC 1952 §2.3: OS byte 255 = "unknown", so the header does not name the build host's OS. */
const GZIP_OS_UNKNOWN = 0xff;
const GZIP_OS_OFFSET = 9;

export function parseCompression(value: string): Compression {
  if (value === 'gzip' || value === 'zstd') return value;
  throw new MinerhaulError('E_CONFIG', `unknown compression '${value}': use gzip or zstd`);
}

/**
 * The compressing transforms (to pipe in order) with fixed parameters, so that the same tar gives the same bytes.
 * gzip: Node writes MTIME 0 and no file name; we also pin the OS byte. zstd: level 3, one thread,
 * content checksum on (RFC 8878 §3.1.1), no dictionary.
 */
export function createLayerCompressors(compression: Compression): Transform[] {
  if (compression === 'gzip') {
    return [createGzip({ level: 6, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY }), pinGzipOsByte()];
  }
  // Loaded lazily: a native module that the agent's pull path does not need.
  const { CompressStream } = require('zstd-napi') as typeof import('zstd-napi');
  return [new CompressStream({ compressionLevel: 3, checksumFlag: true, nbWorkers: 0 })];
}

function pinGzipOsByte(): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (offset <= GZIP_OS_OFFSET && offset + chunk.length > GZIP_OS_OFFSET) {
        chunk[GZIP_OS_OFFSET - offset] = GZIP_OS_UNKNOWN;
      }
      offset += chunk.length;
      done(null, chunk);
    },
  });
}
