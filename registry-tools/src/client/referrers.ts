import type { Descriptor } from '../image-store';
import { MEDIA_TYPE_OCI_INDEX, parseManifest, referrerArtifactType, type ImageIndex } from '../manifest';
import { parseDigest } from './digest';

/** The referrers fallback tag: `<alg>-<hex>` (distribution-spec "Referrers Tag Schema"). */
export function referrersFallbackTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex.slice(0, 64)}`;
}

/**
 * The referrers index descriptor of a manifest: artifactType (or its config type) and every
 * annotation copied (distribution-spec "Pushing Manifests with Subject").
 */
export function referrerDescriptor(descriptor: Descriptor, bytes: Buffer): Descriptor {
  const parsed = parseManifest(bytes, descriptor.mediaType);
  const out: Descriptor = {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
  };
  const artifactType = referrerArtifactType(parsed);
  if (artifactType !== undefined) out.artifactType = artifactType;
  const annotations = parsed.kind === 'manifest' ? parsed.manifest.annotations : parsed.index.annotations;
  if (annotations && Object.keys(annotations).length > 0) out.annotations = { ...annotations };
  return out;
}

/** Add `entry` to a fallback index (or a new one), unless already listed. Returns the new bytes or undefined. */
export function addReferrer(existing: ImageIndex | undefined, entry: Descriptor): Buffer | undefined {
  const index: ImageIndex = existing ?? { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [] };
  if (index.manifests.some((d) => d.digest === entry.digest)) return undefined;
  const next: ImageIndex = {
    ...index,
    mediaType: MEDIA_TYPE_OCI_INDEX,
    manifests: [...index.manifests, entry],
  };
  return Buffer.from(JSON.stringify(next));
}

export function filterReferrers(manifests: Descriptor[], artifactType?: string): Descriptor[] {
  return artifactType === undefined ? manifests : manifests.filter((d) => d.artifactType === artifactType);
}
