import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, ImageStore } from '../image-store';
import { type ParsedManifest, parseManifest } from '../manifest';

export const ANNOTATION_KEYS = {
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
} as const;

/** Fetches and parses a manifest or index that must exist. */
export async function fetchParsed(
  store: ImageStore,
  reference: string,
  signal?: AbortSignal,
): Promise<{ descriptor: Descriptor; bytes: Buffer; parsed: ParsedManifest }> {
  const got = await store.getManifest(reference, signal);
  if (got === undefined)
    throw new MinerhaulError('E_NOT_FOUND', `${reference} not found in ${store.location}`);
  return { ...got, parsed: parseManifest(got.bytes, got.descriptor.mediaType) };
}

export function annotationsOf(parsed: ParsedManifest): Record<string, string> {
  return (parsed.kind === 'index' ? parsed.index.annotations : parsed.manifest.annotations) ?? {};
}

/**
 * The version a statement names: the image's `org.opencontainers.image.version` annotation (on the
 * index, else on its first manifest, where some builders put it).
 */
export async function imageVersion(
  store: ImageStore,
  subject: Descriptor,
  signal?: AbortSignal,
): Promise<string> {
  const top = await fetchParsed(store, subject.digest, signal);
  let version = annotationsOf(top.parsed)[ANNOTATION_KEYS.version];
  if (version === undefined && top.parsed.kind === 'index') {
    const first = top.parsed.index.manifests[0];
    if (first !== undefined) {
      version = annotationsOf((await fetchParsed(store, first.digest, signal)).parsed)[
        ANNOTATION_KEYS.version
      ];
    }
  }
  if (version === undefined || version.length === 0) {
    throw new MinerhaulError(
      'E_CONFIG',
      `${subject.digest} has no ${ANNOTATION_KEYS.version} annotation: build it with minerhaul build --version`,
    );
  }
  return version;
}
