import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MinerhaulError, isMinerhaulError } from '@minerhaul/signing';
import type { Descriptor, ImageStore, ProgressEvent } from '../image-store';
import { createDigestHash, digestMismatch, parseDigest } from './digest';

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** How many interruptions to resume from before giving up (default 5). */
  resumes?: number;
}

/**
 * Download a blob to `destination`, verifying it while streaming. Bytes go to `destination.partial`;
 * an interrupted transfer resumes from what that file holds (HTTP Range), re-hashing the held prefix
 * first. Content that does not verify is deleted: a resumed one is retried once from zero (the held
 * prefix may be what was wrong), a fresh one fails with E_DIGEST. Only verified content is renamed
 * into place.
 */
export async function downloadBlob(
  store: ImageStore,
  descriptor: Descriptor,
  destination: string,
  options: DownloadOptions = {},
): Promise<void> {
  parseDigest(descriptor.digest);
  const partial = `${destination}.partial`;
  const maxResumes = options.resumes ?? 5;
  for (let attempt = 0; ; attempt++) {
    const hash = createDigestHash(descriptor.digest);
    let held = 0;
    try {
      held = (await stat(partial)).size;
    } catch {
      held = 0;
    }
    if (held > descriptor.size) {
      await unlink(partial);
      held = 0;
    }
    if (held > 0) await pipeline(createReadStream(partial, { end: held - 1 }), hashInto(hash));
    let received = held;
    // Opened before anything can fail: a write stream opening its file lazily could create it after
    // the E_DIGEST cleanup's unlink below, leaving a partial file of bytes that did not verify.
    const file = await open(partial, held > 0 ? 'a' : 'w', 0o644);
    try {
      const source = await store.openBlob(descriptor, { offset: held, signal: options.signal });
      const counter = new Transform({
        highWaterMark: 1 << 20,
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          received += chunk.length;
          options.onProgress?.({ digest: descriptor.digest, transferred: received, total: descriptor.size });
          done(null, chunk);
        },
      });
      await pipeline(source, counter, file.createWriteStream(), {
        signal: options.signal,
      });
    } catch (err) {
      await file.close().catch(() => undefined);
      if (isMinerhaulError(err, 'E_DIGEST')) {
        await unlink(partial).catch(() => undefined);
        throw err;
      }
      const fatal = isMinerhaulError(err) && err.details?.retryable !== true;
      if (fatal || options.signal?.aborted || attempt >= maxResumes) {
        // Bytes received are kept for a later resume; an empty file is not.
        if (received === 0) await unlink(partial).catch(() => undefined);
        throw wrap(err, descriptor);
      }
      continue;
    }
    const actual = `${parseDigest(descriptor.digest).algorithm}:${hash.digest('hex')}`;
    if (received !== descriptor.size || actual !== descriptor.digest) {
      await unlink(partial).catch(() => undefined);
      // A stale or damaged partial file (power cut) gets one fresh start; a fresh download that fails is final.
      if (held > 0 && attempt < maxResumes) continue;
      throw digestMismatch(descriptor, `downloaded ${received} bytes hashing to ${actual}`);
    }
    await rename(partial, destination);
    return;
  }
}

function hashInto(hash: ReturnType<typeof createDigestHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done();
    },
  });
}

function wrap(err: unknown, descriptor: Descriptor): MinerhaulError {
  if (err instanceof MinerhaulError) return err;
  return new MinerhaulError(
    'E_REGISTRY',
    `download of ${descriptor.digest} interrupted: ${(err as Error).message}`,
    {
      cause: err,
    },
  );
}
