import type { Transform, TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { unsafeArchive } from './unpack-errors';

export type Compression = 'none' | 'gzip' | 'zstd';

/** 1 MiB output chunks: ≈400 MB/s gunzip here against ≈90 MB/s with zlib's 16 KiB default. */
const CHUNK = 1024 * 1024;
/** Lets the decompressor run ahead on the thread pool while entries are written. */
const READ_AHEAD = 8 * CHUNK;

const BY_MEDIA_TYPE: Record<string, Compression | 'detect'> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
  // containerd treats the uncompressed Docker type as "possibly compressed" (mediatypes.go DiffCompression).
  'application/vnd.docker.image.rootfs.diff.tar': 'detect',
};

/** Compression a layer media type declares; unknown media types are refused. */
export function compressionOf(mediaType: string): Compression | 'detect' {
  const c = BY_MEDIA_TYPE[mediaType];
  if (c === undefined) throw unsafeArchive(`unsupported layer media type ${mediaType}`, { mediaType });
  return c;
}

/** Magic bytes (protocol-reference §2.5): gzip 1F 8B 08; zstd frame 28 B5 2F FD or a skippable frame 0x184D2A5?. */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4) {
    const le = head.readUInt32LE(0);
    if (le === 0xfd2fb528 || (le & 0xfffffff0) >>> 0 === 0x184d2a50) return 'zstd';
  }
  return 'none';
}

/**
 * Decides how to decompress a layer: the media type is trusted, and the content sniffed to catch
 * a mislabelled layer, which is refused (E_UNSAFE_ARCHIVE) rather than guessed at.
 */
export function chooseCompression(mediaType: string, head: Buffer): Compression {
  const declared = compressionOf(mediaType);
  const actual = sniffCompression(head);
  if (declared === 'detect') return actual;
  if (declared !== actual) {
    throw unsafeArchive(`layer declared as ${declared} but its content is ${actual}`, { mediaType, actual });
  }
  return declared;
}

/** A decompressing transform, or undefined for an uncompressed layer. */
export function createDecompressor(compression: Compression): Transform | undefined {
  if (compression === 'gzip') {
    // zlib passes the options on to its Transform, so the stream read-ahead applies too.
    const options: ZlibOptions & TransformOptions = { chunkSize: CHUNK, readableHighWaterMark: READ_AHEAD };
    return createGunzip(options);
  }
  if (compression === 'zstd') {
    // Loaded lazily: a native module the agent only needs for zstd layers.
    const { DecompressStream } = require('zstd-napi') as typeof import('zstd-napi');
    return new DecompressStream();
  }
  return undefined;
}
