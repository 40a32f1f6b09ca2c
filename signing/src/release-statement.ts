import { canonicalJson } from './canonical-json';
import { MinerhaulError, type ErrorCode } from './errors';
import { asGeneratedValidator, type GeneratedValidator, type SchemaError } from './generated-validator';
import { RELEASE_STATEMENT_SCHEMA, RELEASE_STATEMENT_TYPE } from './release-statement-schema';

export { RELEASE_STATEMENT_TYPE };
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

/** JSON Schema of ReleaseStatement (kept in release-statement-schema.ts, precompiled at build). */
export const ReleaseStatement = RELEASE_STATEMENT_SCHEMA;

export interface SchemaProblem {
  /** JSON Pointer of the offending value ('' for the document itself). */
  path: string;
  message: string;
}

let validator: GeneratedValidator | undefined;

// Loaded on first use: an idle agent that only polls with HEAD never reads a statement.
function statementValidator(): GeneratedValidator {
  validator ??= asGeneratedValidator(
    (require('./release-statement-validator.generated') as { validateReleaseStatement: unknown })
      .validateReleaseStatement,
  );
  return validator;
}

function validate(value: unknown): SchemaProblem[] {
  const validate = statementValidator();
  if (validate(value)) return datesProblems(value as ReleaseStatement);
  return (validate.errors ?? []).map(describe);
}

function describe(e: SchemaError): SchemaProblem {
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    return { path: `${e.instancePath}/${extra}`, message: 'is not allowed' };
  }
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
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
