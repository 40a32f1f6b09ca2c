import type { Descriptor, Platform } from '../image-store';

import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from '../manifest';

/** image-spec annotations.md pre-defined keys used by `build`. */
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_SOURCE = 'org.opencontainers.image.source';
export const ANNOTATION_REVISION = 'org.opencontainers.image.revision';

/** PATH for the miner: the usual system directories plus the miner's own bin/. */
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageConfigInput {
  platform: Platform;
  created: string;
  entrypoint: string;
  workingDir: string;
  diffIds: string[];
  layerComments: string[];
  labels: Record<string, string>;
}

/**
 * The image config (image-spec config.md). Keys are written in a fixed order and nothing from the
 * build host appears, so equal inputs give equal bytes.
 */
export function imageConfigJson(input: ImageConfigInput): Buffer {
  const config = {
    created: input.created,
    architecture: input.platform.architecture,
    os: input.platform.os,
    ...(input.platform.variant ? { variant: input.platform.variant } : {}),
    config: {
      Env: [`PATH=${input.workingDir}/bin:${BASE_PATH}`],
      Entrypoint: [input.entrypoint],
      WorkingDir: input.workingDir,
      Labels: input.labels,
    },
    rootfs: { type: 'layers', diff_ids: input.diffIds },
    history: input.layerComments.map((comment) => ({
      created: input.created,
      created_by: 'minerhaul build',
      comment,
    })),
  };
  return Buffer.from(JSON.stringify(config), 'utf8');
}

export function imageManifestJson(
  config: Descriptor,
  layers: Descriptor[],
  annotations: Record<string, string>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      config: descriptorJson(config),
      layers: layers.map(descriptorJson),
      annotations,
    }),
    'utf8',
  );
}

export function imageIndexJson(manifests: Descriptor[], annotations: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: manifests.map(descriptorJson),
      annotations,
    }),
    'utf8',
  );
}

/** A descriptor with its keys in one fixed order (JSON.stringify keeps insertion order). */
function descriptorJson(d: Descriptor): Descriptor {
  return {
    mediaType: d.mediaType,
    ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
    digest: d.digest,
    size: d.size,
    ...(d.platform !== undefined ? { platform: platformJson(d.platform) } : {}),
    ...(d.annotations !== undefined ? { annotations: d.annotations } : {}),
  };
}

function platformJson(p: Platform): Platform {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
}
