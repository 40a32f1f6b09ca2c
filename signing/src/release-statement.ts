import type { ErrorObject, ValidateFunction } from 'ajv';
import { canonicalJson } from './canonical-json';
import { MinerhaulError, type ErrorCode } from './errors';
import { SEMVER_PATTERN } from './semver';

export const RELEASE_STATEMENT_TYPE = 'minerhaul.release/v1';
/** Statements are small; anything bigger is refused before parsing. */
export const MAX_STATEMENT_BYTES = 64 * 1024;

/** A release statement (DESIGN.md "Keys, signatures, release statements"); signed as canonicalJson. */
export interface ReleaseStatement {
  type: typeof RELEASE_STATEMENT_TYPE;
  /** Repository the release belongs to, e.g. "ghcr.io/acme/miner" (compared exactly). */
  repository: string;
  /** Manifest (or index) digest, e.g. "sha256:…". */
  digest: string;
  version: string;
  /** The tag the agent follows, e.g. "stable". */
  channel: string;
  /** Monotonic per repository and channel; anti-rollback compares it. */
  sequence: number;
  /** RFC 3339 date-time. */
  created: string;
  /** RFC 3339 date-time after which the statement is refused (freeze attack). */
  expires?: string;
  /** Staged rollout percentage, 0-100. */
  rollout?: number;
  /** Oldest agent version (semver) able to run this release. */
  minAgentVersion?: string;
}

/**
 * JSON Schema (draft-07, as ajv's default) of ReleaseStatement. Unknown properties are refused: a v1
 * verifier must not silently ignore a field it does not understand (docs/decisions/0102).
 */
export const ReleaseStatement = {
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

export interface SchemaProblem {
  /** JSON Pointer of the offending value ('' for the document itself). */
  path: string;
  message: string;
}

let validator: ValidateFunction | undefined;

/** ajv is compiled on first use so that importing @minerhaul/signing stays light for the agent. */
function validate(value: unknown): SchemaProblem[] {
  if (validator === undefined) {
    const Ajv = (require('ajv') as typeof import('ajv')).default;
    const addFormats = (require('ajv-formats') as typeof import('ajv-formats')).default;
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv, ['date-time']);
    validator = ajv.compile(ReleaseStatement);
  }
  if (validator(value)) return datesProblems(value as ReleaseStatement);
  return (validator.errors ?? []).map(describe);
}

function describe(e: ErrorObject): SchemaProblem {
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty);
    return { path: `${e.instancePath}/${extra}`, message: 'is not allowed' };
  }
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    return { path: `${e.instancePath}/${missing}`, message: 'is required' };
  }
  return { path: e.instancePath, message: e.message ?? e.keyword };
}

/** ajv accepts leap seconds that Date cannot represent; every date must be usable for comparisons. */
function datesProblems(s: ReleaseStatement): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const key of ['created', 'expires'] as const) {
    const v = s[key];
    if (v !== undefined && Number.isNaN(Date.parse(v)))
      out.push({ path: `/${key}`, message: 'is not a usable date' });
  }
  return out;
}

function schemaError(code: ErrorCode, what: string, problems: SchemaProblem[]): MinerhaulError {
  const list = problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
  return new MinerhaulError(code, `${what}: ${list}`, { details: { errors: problems } });
}

export interface StatementFields {
  repository: string;
  digest: string;
  version: string;
  channel: string;
  sequence: number;
  /** Default: now. */
  created?: Date | string;
  expires?: Date | string;
  rollout?: number;
  minAgentVersion?: string;
}

/** Builds and validates a statement from user input (bad fields: E_CONFIG). */
export function createStatement(fields: StatementFields, now: Date = new Date()): ReleaseStatement {
  const statement: ReleaseStatement = {
    type: RELEASE_STATEMENT_TYPE,
    repository: fields.repository,
    digest: fields.digest,
    version: fields.version,
    channel: fields.channel,
    sequence: fields.sequence,
    created: toRfc3339(fields.created ?? now),
    ...(fields.expires !== undefined ? { expires: toRfc3339(fields.expires) } : {}),
    ...(fields.rollout !== undefined ? { rollout: fields.rollout } : {}),
    ...(fields.minAgentVersion !== undefined ? { minAgentVersion: fields.minAgentVersion } : {}),
  };
  const problems = validate(statement);
  if (problems.length > 0) throw schemaError('E_CONFIG', 'invalid release statement', problems);
  if (statement.expires !== undefined && Date.parse(statement.expires) <= Date.parse(statement.created)) {
    throw new MinerhaulError('E_CONFIG', 'invalid release statement: expires must be later than created');
  }
  return statement;
}

/** The exact bytes to sign and to store. */
export function encodeStatement(statement: ReleaseStatement): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}

/**
 * Parses signed statement bytes. Refuses (E_STATEMENT) invalid UTF-8, invalid JSON, schema errors
 * (every one, with its JSON path, in `details.errors`) and non-canonical encodings: the bytes that
 * were signed must be the only possible encoding of what is read.
 */
export function parseStatement(bytes: Buffer | string): ReleaseStatement {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buf.length > MAX_STATEMENT_BYTES) {
    throw new MinerhaulError('E_STATEMENT', `release statement larger than ${MAX_STATEMENT_BYTES} bytes`);
  }
  let text: string;
  let value: unknown;
  try {
    // ignoreBOM keeps a BOM in the text, so that JSON.parse refuses it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
    value = JSON.parse(text);
  } catch (err) {
    throw new MinerhaulError('E_STATEMENT', 'release statement is not valid UTF-8 JSON', { cause: err });
  }
  const problems = validate(value);
  if (problems.length > 0) throw schemaError('E_STATEMENT', 'invalid release statement', problems);
  if (canonicalJson(value) !== text) {
    throw new MinerhaulError('E_STATEMENT', 'release statement is not in canonical JSON form');
  }
  return value as ReleaseStatement;
}

function toRfc3339(d: Date | string): string {
  if (typeof d === 'string') return d;
  if (Number.isNaN(d.getTime())) throw new MinerhaulError('E_CONFIG', 'invalid date');
  // Whole seconds keep statements short; toISOString is RFC 3339 in UTC.
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
