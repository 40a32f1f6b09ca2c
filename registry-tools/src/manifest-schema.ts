// JSON Schemas of the OCI image manifest and index (image-spec manifest.md, image-index.md), as far as
// minerhaul reads them: unknown fields are allowed, as the spec requires. Precompiled into
// manifest-validator.generated.ts (no ajv compile at run time): run `npm run generate` after editing.
const digestPattern = '^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$';
const annotations = { type: 'object', additionalProperties: { type: 'string' } };
const platform = {
  type: 'object',
  required: ['os', 'architecture'],
  properties: {
    os: { type: 'string' },
    architecture: { type: 'string' },
    variant: { type: 'string' },
    'os.version': { type: 'string' },
    'os.features': { type: 'array', items: { type: 'string' } },
  },
};
const descriptor = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: { type: 'string', minLength: 1 },
    digest: { type: 'string', pattern: digestPattern },
    size: { type: 'integer', minimum: 0 },
    urls: { type: 'array', items: { type: 'string' } },
    annotations,
    artifactType: { type: 'string' },
    data: { type: 'string' },
    platform,
  },
};
export const IMAGE_MANIFEST_SCHEMA = {
  $id: 'minerhaul:oci/image-manifest',
  type: 'object',
  required: ['schemaVersion', 'config', 'layers'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: { type: 'string' },
    artifactType: { type: 'string' },
    config: descriptor,
    layers: { type: 'array', items: descriptor },
    subject: descriptor,
    annotations,
  },
};
export const IMAGE_INDEX_SCHEMA = {
  $id: 'minerhaul:oci/image-index',
  type: 'object',
  required: ['schemaVersion', 'manifests'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: { type: 'string' },
    artifactType: { type: 'string' },
    manifests: { type: 'array', items: descriptor },
    subject: descriptor,
    annotations,
  },
};
