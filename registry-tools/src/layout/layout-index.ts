import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor } from '../image-store';
import { MEDIA_TYPE_OCI_INDEX, parseManifest, type ImageIndex } from '../manifest';

/** image-spec annotations.md: the tag of an entry in an image layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export const OCI_LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

export function emptyLayoutIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [] };
}

/** Validate a layout's index.json (image-layout.md: it is an image index). */
export function parseLayoutIndex(bytes: Buffer, where: string): ImageIndex {
  let parsed;
  try {
    parsed = parseManifest(bytes, undefined);
  } catch (err) {
    throw new MinerhaulError('E_REGISTRY', `${where}/index.json is not a valid image index`, { cause: err });
  }
  if (parsed.kind !== 'index')
    throw new MinerhaulError('E_REGISTRY', `${where}/index.json is not an image index`);
  return parsed.index;
}

/** The entry for `reference` (a ref name or a digest); the last entry with a ref name wins. */
export function findInLayoutIndex(index: ImageIndex, reference: string): Descriptor | undefined {
  const matches = reference.includes(':')
    ? index.manifests.filter((d) => d.digest === reference)
    : index.manifests.filter((d) => d.annotations?.[REF_NAME] === reference);
  return matches[matches.length - 1];
}

/** Point `tag` at `descriptor`, removing whatever the tag named before. */
export function tagInLayoutIndex(index: ImageIndex, descriptor: Descriptor, tag: string): ImageIndex {
  const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
  manifests.push({
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    annotations: { [REF_NAME]: tag },
  });
  return { ...index, manifests };
}

export function layoutTags(index: ImageIndex): string[] {
  const tags = index.manifests
    .map((d) => d.annotations?.[REF_NAME])
    .filter((t): t is string => t !== undefined);
  return [...new Set(tags)];
}

export function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `blobs/${algorithm}/${hex}`;
}
