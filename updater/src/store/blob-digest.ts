import { MinerhaulError } from '@minerhaul/signing';

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/**
 * The hex part of a `sha256:<64 lowercase hex>` digest (IS descriptor.md §Digests). Anything else
 * is refused: the hex becomes a file name, so this is also what keeps blob paths inside the store.
 */
export function sha256Hex(digest: string): string {
  const m = SHA256.exec(digest);
  if (!m)
    throw new MinerhaulError('E_DIGEST', `unsupported or malformed digest ${JSON.stringify(digest)}`, {
      details: { digest },
    });
  return m[1] as string;
}
