import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor } from '../image-store';
import { DigestVerifier, SizeLimiter } from './digest';
import { discard, header, type HttpResponse } from './http-transport';

/** Skip the first `n` bytes: a server that ignores Range answers 200 with the whole blob. */
function skipBytes(n: number): Transform {
  let left = n;
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      if (left >= chunk.length) {
        left -= chunk.length;
        done();
        return;
      }
      const out = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      done(null, out);
    },
  });
}

/**
 * Turn a 200/206 blob response into the stream ImageStore.openBlob promises: whole blobs are verified
 * against digest and size; a resumed tail (offset > 0) is size-capped and the caller finishes the hash.
 * Returns undefined for other statuses (the caller maps them to errors).
 */
export function blobResponseStream(
  response: HttpResponse,
  descriptor: Descriptor,
  offset: number,
): Readable | undefined {
  let skip = 0;
  if (response.status === 206 && offset > 0) {
    // RFC 9110 §14.4: "bytes first-last/complete"; it must start where we asked.
    const range = /^bytes (\d+)-/.exec(header(response, 'content-range') ?? '');
    if (!range || Number(range[1]) !== offset) {
      discard(response);
      throw new MinerhaulError(
        'E_REGISTRY',
        `blob ${descriptor.digest}: Content-Range does not start at ${offset}`,
      );
    }
  } else if (response.status === 200) {
    skip = offset;
  } else {
    return undefined;
  }
  const verifier =
    offset > 0 ? new SizeLimiter(descriptor, descriptor.size - offset) : new DigestVerifier(descriptor);
  const stages: NodeJS.ReadWriteStream[] = skip > 0 ? [skipBytes(skip)] : [];
  // pipeline destroys the verifier with the source's error, so a cut connection reaches the reader.
  pipeline([response.body, ...stages, verifier]).catch(() => undefined);
  return verifier;
}
