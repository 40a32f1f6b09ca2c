import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, ImageStore } from '../image-store';
import { MEDIA_TYPE_OCI_INDEX, parseManifest, type ImageIndex } from '../manifest';
import { addReferrer, referrersFallbackTag } from '../client/referrers';

/**
 * Makes sure `referrer` is listed among the referrers of `subject`. Stores that process `subject`
 * (referrers API, or a client that already maintains the fallback tag) list it at once; otherwise
 * we maintain the fallback tag ourselves (distribution-spec "Pushing Manifests with Subject": read
 * the `sha256-<hex>` index, add the descriptor if missing, put it back), as the stores' own pushes do.
 */
export async function ensureReferrerListed(
  store: ImageStore,
  subjectDigest: string,
  referrer: Descriptor,
  signal?: AbortSignal,
): Promise<void> {
  const listed = await store.listReferrers(subjectDigest, referrer.artifactType, signal);
  if (listed.some((d) => d.digest === referrer.digest)) return;
  const tag = referrersFallbackTag(subjectDigest);
  const existing = await store.getManifest(tag, signal);
  let index: ImageIndex | undefined;
  if (existing !== undefined) {
    const parsed = parseManifest(existing.bytes, existing.descriptor.mediaType);
    if (parsed.kind !== 'index') {
      throw new MinerhaulError('E_REGISTRY', `referrers fallback tag ${tag} does not hold an image index`);
    }
    index = parsed.index;
  }
  const entry: Descriptor = {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType !== undefined ? { artifactType: referrer.artifactType } : {}),
    ...(referrer.annotations !== undefined ? { annotations: referrer.annotations } : {}),
  };
  const next = addReferrer(index, entry);
  if (next !== undefined) await store.putManifest(next, MEDIA_TYPE_OCI_INDEX, tag, signal);
}
