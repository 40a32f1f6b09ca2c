import { SEMVER_PATTERN } from './semver';

export const RELEASE_STATEMENT_TYPE = 'minerhaul.release/v1';

/**
 * JSON Schema (draft-07, as ajv's default) of a release statement. Unknown properties are refused: a
 * v1 verifier must not silently ignore a field it does not understand (docs/decisions/0102).
 * Precompiled into release-statement-validator.generated.ts: run `npm run generate` after editing.
 */
export const RELEASE_STATEMENT_SCHEMA = {
  $id: 'https://minerhaul.dev/schemas/release-statement-v1.json',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'repository', 'digest', 'version', 'channel', 'sequence', 'created'],
  properties: {
    type: { const: RELEASE_STATEMENT_TYPE },
    repository: { type: 'string', minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' },
    digest: { type: 'string', pattern: '^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$' },
    version: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' },
    // An OCI tag (distribution-spec "Pulling manifests": [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}).
    channel: { type: 'string', pattern: '^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$' },
    sequence: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    created: { type: 'string', format: 'date-time' },
    expires: { type: 'string', format: 'date-time' },
    rollout: { type: 'number', minimum: 0, maximum: 100 },
    minAgentVersion: { type: 'string', pattern: SEMVER_PATTERN },
  },
} as const;
