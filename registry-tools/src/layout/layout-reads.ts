import { MinerhaulError } from '@minerhaul/signing';
import type { BlobReadOptions, Descriptor, FetchedManifest, ImageStore } from '../image-store';
import { parseManifest } from '../manifest';
import { digestMismatch, digestOf, parseDigest } from '../client/digest';
import { filterReferrers, referrersFallbackTag } from '../client/referrers';

/**
 * Manifest bytes checked against the digest that named them (image-spec descriptor.md "Digests")
 * and, when an index.json entry gave one, its size; then parsed. `source` names what was hashed.
 */
export function verifiedManifest(
  digest: string,
  bytes: Buffer,
  entry: Descriptor | undefined,
  options: { source: string; checkEntrySize: boolean },
): FetchedManifest {
  const actual = digestOf(bytes, parseDigest(digest).algorithm);
  if (actual !== digest)
    throw digestMismatch(
      { mediaType: '', digest, size: bytes.length },
      `${options.source} hashes to ${actual}`,
    );
  if (options.checkEntrySize && entry && entry.size !== bytes.length) {
    throw digestMismatch(entry, `index.json says ${entry.size} bytes, blob has ${bytes.length}`);
  }
  // Static servers label JSON generically; the index entry (when there is one) names the type.
  const parsed = parseManifest(bytes, entry?.mediaType);
  return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes };
}

/** The offset a blob read resumes from: never before the start nor past the end. */
export function resumeOffset(descriptor: Descriptor, options: BlobReadOptions): number {
  const offset = options.offset ?? 0;
  if (offset < 0 || offset > descriptor.size) {
    throw new MinerhaulError('E_CONFIG', `resume offset ${offset} outside blob of ${descriptor.size} bytes`);
  }
  return offset;
}

/**
 * Referrers of `digest` from the fallback tag: a layout has no referrers API, so the tag's index is
 * the list (distribution-spec "Referrers Tag Schema").
 */
export async function fallbackReferrers(
  store: Pick<ImageStore, 'getManifest'>,
  digest: string,
  artifactType: string | undefined,
  signal?: AbortSignal,
): Promise<Descriptor[]> {
  const fallback = await store.getManifest(referrersFallbackTag(digest), signal);
  if (!fallback) return [];
  const parsed = parseManifest(fallback.bytes, fallback.descriptor.mediaType);
  return parsed.kind === 'index' ? filterReferrers(parsed.index.manifests, artifactType) : [];
}
