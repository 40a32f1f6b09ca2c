import {
  asGeneratedValidator,
  type GeneratedValidator,
  MinerhaulError,
  type SchemaError,
} from '@minerhaul/signing';
import type { Descriptor } from './image-store';

export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const MEDIA_TYPE_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** The OCI empty descriptor (image-spec manifest.md "Guidance for an Empty Descriptor"): content `{}`. */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MEDIA_TYPE_OCI_EMPTY,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

/** Registries SHOULD accept manifests of at least 4 MB (distribution-spec "Pushing Manifests"); we refuse more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const MANIFEST_MEDIA_TYPES = [MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST] as const;
export const INDEX_MEDIA_TYPES = [MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST_LIST] as const;

/**
 * Sent on every manifest GET and HEAD, the same list both times, so HEAD and GET describe the same
 * document (protocol-reference §1.2). Schema 1 is never accepted.
 */
export const MANIFEST_ACCEPT = [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(', ');

export function isIndexMediaType(mediaType: string): boolean {
  return (INDEX_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export function isManifestMediaType(mediaType: string): boolean {
  return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

let validators: { manifest: GeneratedValidator; index: GeneratedValidator } | undefined;

// Loaded on first use: an idle agent that only polls with HEAD never parses a manifest.
function manifestValidators(): { manifest: GeneratedValidator; index: GeneratedValidator } {
  if (validators === undefined) {
    const generated = require('./manifest-validator.generated') as Record<string, unknown>;
    validators = {
      manifest: asGeneratedValidator(generated.validateImageManifest),
      index: asGeneratedValidator(generated.validateImageIndex),
    };
  }
  return validators;
}

function invalid(message: string, details?: Record<string, unknown>): MinerhaulError {
  return new MinerhaulError('E_REGISTRY', message, { details });
}

/** Strip media type parameters: clients SHOULD ignore them (distribution-spec "Pulling manifests"). */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const bare = contentType?.split(';')[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}

/**
 * Parse and validate a manifest or index at the trust boundary. `contentType` is the media type the
 * server (or the referring descriptor) claimed; the document's own `mediaType` must agree with it.
 * Documents that could be read both as index and manifest are refused (CVE-2021-41190).
 */
export function parseManifest(bytes: Buffer, contentType?: string): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw invalid(`manifest is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES} byte cap`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new MinerhaulError('E_REGISTRY', 'manifest is not valid JSON', { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalid('manifest is not a JSON object');
  }
  const record = doc as Record<string, unknown>;
  if ('manifests' in record && ('layers' in record || 'config' in record)) {
    throw invalid('ambiguous document: it has both "manifests" and "layers"/"config" (CVE-2021-41190)');
  }
  const declared = typeof record.mediaType === 'string' ? record.mediaType : undefined;
  const claimed = bareMediaType(contentType);
  if (declared !== undefined && claimed !== undefined && declared !== claimed) {
    throw invalid(`manifest mediaType ${declared} does not match Content-Type ${claimed}`);
  }
  const mediaType =
    declared ?? claimed ?? ('manifests' in record ? MEDIA_TYPE_OCI_INDEX : MEDIA_TYPE_OCI_MANIFEST);
  if (isIndexMediaType(mediaType)) {
    const validateIndex = manifestValidators().index;
    if (!validateIndex(doc)) {
      throw invalid('invalid image index', { errors: formatErrors(validateIndex.errors) });
    }
    return { kind: 'index', mediaType, index: doc as ImageIndex };
  }
  if (isManifestMediaType(mediaType)) {
    const validateManifest = manifestValidators().manifest;
    if (!validateManifest(doc)) {
      throw invalid('invalid image manifest', { errors: formatErrors(validateManifest.errors) });
    }
    return { kind: 'manifest', mediaType, manifest: doc as ImageManifest };
  }
  throw invalid(`unsupported manifest media type ${mediaType}`);
}

function formatErrors(errors: SchemaError[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** The artifactType a referrers index entry carries: the manifest's artifactType, else its config type. */
export function referrerArtifactType(parsed: ParsedManifest): string | undefined {
  if (parsed.kind === 'manifest') return parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
  return parsed.index.artifactType;
}

/** The subject of a manifest or index, when it refers to another one (OCI 1.1). */
export function subjectOf(parsed: ParsedManifest): Descriptor | undefined {
  return parsed.kind === 'manifest' ? parsed.manifest.subject : parsed.index.subject;
}
