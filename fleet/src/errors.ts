import { type ErrorCode, MinerhaulError } from '@minerhaul/signing';

export { type ErrorCode, MinerhaulError, isMinerhaulError, withContext } from '@minerhaul/signing';

/**
 * Why a report was refused: stable strings, used in the HTTP body, the Prometheus `reason` label
 * and docs/fleet-admin-guide.md. Never renamed.
 */
export const REFUSAL_REASONS = [
  'unsupported-media-type',
  'too-large',
  'bad-json',
  'schema',
  'missing-signature',
  'bad-signature',
  'not-allowed',
  'key-changed',
  'replayed',
  'stale',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** HTTP status and DESIGN.md code of each refusal: 4xx only, the device is at fault. */
const REFUSALS: Record<RefusalReason, { status: number; code: ErrorCode }> = {
  'unsupported-media-type': { status: 415, code: 'E_CONFIG' },
  'too-large': { status: 413, code: 'E_CONFIG' },
  'bad-json': { status: 400, code: 'E_CONFIG' },
  schema: { status: 400, code: 'E_CONFIG' },
  'missing-signature': { status: 401, code: 'E_SIGNATURE' },
  'bad-signature': { status: 401, code: 'E_SIGNATURE' },
  'not-allowed': { status: 403, code: 'E_KEY' },
  'key-changed': { status: 403, code: 'E_KEY' },
  replayed: { status: 409, code: 'E_ROLLBACK' },
  stale: { status: 409, code: 'E_EXPIRED' },
};

/** A report the server will not take; carries its HTTP status and a stable reason. */
export class ReportRefusedError extends MinerhaulError {
  readonly reason: RefusalReason;
  readonly status: number;

  constructor(reason: RefusalReason, message: string, details?: Record<string, unknown>) {
    const { status, code } = REFUSALS[reason];
    super(code, message, details === undefined ? {} : { details });
    this.name = 'ReportRefusedError';
    this.reason = reason;
    this.status = status;
  }
}
