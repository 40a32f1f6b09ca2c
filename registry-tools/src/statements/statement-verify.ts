import {
  MinerhaulError,
  type ErrorCode,
  type ReleaseStatement,
  type VerifyReleaseInput,
  verifyRelease,
} from '@minerhaul/signing';
import type { FetchedReleaseStatement } from './statement-store';

export interface VerifiedRelease {
  statement: ReleaseStatement;
  /** The exact signed bytes. */
  statementBytes: Buffer;
  /** Artifacts whose signature is over these bytes (not all of them need be valid or trusted). */
  artifacts: FetchedReleaseStatement[];
}

export type VerifyStatementsOptions = Omit<VerifyReleaseInput, 'statement' | 'signatures'>;

/**
 * Verifies the statements found beside an image: signatures are grouped by the statement bytes they
 * cover (co-signers sign the same bytes), each group goes through signing's verifyRelease, and the
 * valid statement with the highest sequence wins. When none is valid, the most telling failure is
 * thrown: a properly signed statement that does not match says more than a missing signature.
 */
export function verifyReleaseStatements(
  fetched: readonly FetchedReleaseStatement[],
  options: VerifyStatementsOptions,
): VerifiedRelease {
  const groups = new Map<string, FetchedReleaseStatement[]>();
  for (const f of fetched) {
    const key = f.statement.toString('base64');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  let best: VerifiedRelease | undefined;
  let failure: MinerhaulError | undefined;
  for (const artifacts of groups.values()) {
    const first = artifacts[0];
    if (first === undefined) continue;
    try {
      const statement = verifyRelease({
        ...options,
        statement: first.statement,
        signatures: artifacts.map((a) => a.signature),
      });
      if (best === undefined || statement.sequence > best.statement.sequence) {
        best = { statement, statementBytes: first.statement, artifacts };
      }
    } catch (err) {
      if (!(err instanceof MinerhaulError) || err.code === 'E_CONFIG') throw err;
      if (failure === undefined || rank(err.code) > rank(failure.code)) failure = err;
    }
  }
  if (best !== undefined) return best;
  throw failure ?? new MinerhaulError('E_SIGNATURE', 'no release statement is stored beside this image');
}

const RANK: Partial<Record<ErrorCode, number>> = {
  E_SIGNATURE: 0,
  E_STATEMENT: 1,
  E_ROLLBACK: 2,
  E_EXPIRED: 2,
  E_INCOMPATIBLE: 2,
};

function rank(code: ErrorCode): number {
  return RANK[code] ?? 0;
}
