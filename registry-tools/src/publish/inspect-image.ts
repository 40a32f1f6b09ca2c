import type { Descriptor, ImageStore, Platform } from '../image-store';
import {
  ANNOTATION_CHANNEL,
  ANNOTATION_CREATED,
  ANNOTATION_KEY_NUMBER,
  ANNOTATION_SEQUENCE,
  RELEASE_ARTIFACT_TYPE,
} from '../statements';
import { ANNOTATION_KEYS, annotationsOf, fetchParsed } from './image-annotations';

export interface InspectedSignature {
  artifact: string;
  channel?: string;
  sequence?: number;
  keyNumber?: string;
  created?: string;
}

export interface ImageInspection {
  digest: string;
  mediaType: string;
  size: number;
  platforms: { platform?: Platform; digest: string }[];
  version?: string;
  created?: string;
  source?: string;
  revision?: string;
  /** What the stored statement artifacts claim (unverified: use verify for trust). */
  signatures: InspectedSignature[];
}

/** `minerhaul inspect`: digest, platforms, version annotations and signatures of REF. */
export async function inspectImage(
  store: ImageStore,
  reference: string,
  signal?: AbortSignal,
): Promise<ImageInspection> {
  const { descriptor, bytes, parsed } = await fetchParsed(store, reference, signal);
  const annotations = annotationsOf(parsed);
  const platforms =
    parsed.kind === 'index'
      ? parsed.index.manifests.map((m) => ({
          ...(m.platform ? { platform: m.platform } : {}),
          digest: m.digest,
        }))
      : [{ digest: descriptor.digest }];
  const referrers = await store.listReferrers(descriptor.digest, RELEASE_ARTIFACT_TYPE, signal);
  const signatures = referrers
    .filter((r) => r.artifactType === undefined || r.artifactType === RELEASE_ARTIFACT_TYPE)
    .map(describeSignature);
  return {
    digest: descriptor.digest,
    mediaType: parsed.mediaType,
    size: bytes.length,
    platforms,
    ...pick(annotations),
    signatures,
  };
}

function pick(a: Record<string, string>): Partial<ImageInspection> {
  const out: Partial<ImageInspection> = {};
  for (const [name, key] of Object.entries(ANNOTATION_KEYS) as [keyof typeof ANNOTATION_KEYS, string][]) {
    const v = a[key];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function describeSignature(d: Descriptor): InspectedSignature {
  const a = d.annotations ?? {};
  const seq = a[ANNOTATION_SEQUENCE];
  return {
    artifact: d.digest,
    ...(a[ANNOTATION_CHANNEL] !== undefined ? { channel: a[ANNOTATION_CHANNEL] } : {}),
    ...(seq !== undefined && /^\d+$/.test(seq) ? { sequence: Number(seq) } : {}),
    ...(a[ANNOTATION_KEY_NUMBER] !== undefined ? { keyNumber: a[ANNOTATION_KEY_NUMBER] } : {}),
    ...(a[ANNOTATION_CREATED] !== undefined ? { created: a[ANNOTATION_CREATED] } : {}),
  };
}
