/** The stable error codes of DESIGN.md; printed as `error[CODE]` and never renamed. */
export const ERROR_CODES = [
  'E_CONFIG',
  'E_KEY',
  'E_SIGNATURE',
  'E_STATEMENT',
  'E_ROLLBACK',
  'E_EXPIRED',
  'E_DIGEST',
  'E_UNSAFE_ARCHIVE',
  'E_REGISTRY',
  'E_AUTH',
  'E_TLS',
  'E_NOT_FOUND',
  'E_PLATFORM',
  'E_NO_SPACE',
  'E_HEALTH',
  'E_RUNTIME',
  'E_INCOMPATIBLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface MinerhaulErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts (paths, digests, HTTP status) shown with --json. */
  details?: Record<string, unknown>;
}

/**
 * The one error type of minerhaul: an expected failure with a stable code.
 * Anything else that escapes to the CLI is a bug and is reported as such.
 */
export class MinerhaulError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: MinerhaulErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MinerhaulError';
    this.code = code;
    this.details = options.details;
  }
}

export function isMinerhaulError(err: unknown, code?: ErrorCode): err is MinerhaulError {
  return err instanceof MinerhaulError && (code === undefined || err.code === code);
}

/** Re-throw `err` with context from the layer above, keeping its code and cause chain. */
export function withContext(err: unknown, context: string): never {
  if (err instanceof MinerhaulError) {
    throw new MinerhaulError(err.code, `${context}: ${err.message}`, { cause: err, details: err.details });
  }
  throw err;
}
