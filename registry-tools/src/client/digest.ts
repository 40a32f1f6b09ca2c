import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor } from '../image-store';

/** sha256 digests must be lowercase hex (image-spec descriptor.md "Digests"); sha512 is registered too. */
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** Throws E_CONFIG unless `value` is a supported digest; returns its algorithm and hex part. */
export function parseDigest(value: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  if (!isDigest(value)) throw new MinerhaulError('E_CONFIG', `not a supported digest: ${value}`);
  const [algorithm, hex] = value.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex };
}

export function digestOf(bytes: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function createDigestHash(digest: string): Hash {
  return createHash(parseDigest(digest).algorithm);
}

export function digestMismatch(expected: Descriptor, message: string): MinerhaulError {
  return new MinerhaulError('E_DIGEST', `${expected.digest}: ${message}`, {
    details: { digest: expected.digest, size: expected.size },
  });
}

/**
 * Passes bytes through while hashing them; errors with E_DIGEST as soon as more bytes than the
 * descriptor's size arrive (image-spec descriptor.md: verify size before trusting content), and at the
 * end when size or digest differ. `hash` and `already` let a resumed download continue a running hash.
 */
export class DigestVerifier extends Transform {
  private received: number;

  constructor(
    private readonly expected: Descriptor,
    private readonly hash: Hash = createDigestHash(expected.digest),
    already = 0,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.received = already;
    this.isWhole = already === 0;
  }

  private readonly isWhole: boolean;

  /** True when this stream already checks `descriptor` from its first byte (lets a sink skip re-hashing). */
  verifies(descriptor: Descriptor): boolean {
    return (
      this.isWhole && this.expected.digest === descriptor.digest && this.expected.size === descriptor.size
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.expected.size) {
      done(digestMismatch(this.expected, `more than the expected ${this.expected.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.expected.size) {
      done(digestMismatch(this.expected, `got ${this.received} bytes, expected ${this.expected.size}`));
      return;
    }
    const actual = `${parseDigest(this.expected.digest).algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      done(digestMismatch(this.expected, `content hashes to ${actual}`));
      return;
    }
    done();
  }
}

/** Counts bytes only: for a resumed tail whose hash the caller continues (size cap still enforced). */
export class SizeLimiter extends Transform {
  private received = 0;

  constructor(
    private readonly expected: Descriptor,
    private readonly limit: number,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.limit) {
      done(digestMismatch(this.expected, `more than the expected ${this.expected.size} bytes`));
      return;
    }
    done(null, chunk);
  }
}
