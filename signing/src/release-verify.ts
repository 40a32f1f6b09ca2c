import { MinerhaulError } from './errors';
import type { PublicKey } from './public-key';
import { parseStatement, type ReleaseStatement } from './release-statement';
import { compareSemver } from './semver';
import { verifyThreshold } from './threshold-verify';

export interface VerifyReleaseInput {
  /** The statement bytes exactly as fetched; the signatures cover these bytes. */
  statement: Buffer;
  signatures: (string | Buffer)[];
  trustedKeys: PublicKey[];
  threshold: number;
  /** What the agent asked for; the statement must name exactly these. */
  expect: { repository: string; digest: string; channel: string };
  /** Sequence of the installed release, when there is one (anti-rollback). */
  installedSequence?: number;
  /**
   * Digest of the installed release: a statement with the installed sequence must name it, or two
   * statements sharing a sequence could swap releases back and forth (mix-and-match).
   */
  installedDigest?: string;
  /** When given, a statement whose minAgentVersion is newer is refused with E_INCOMPATIBLE. */
  agentVersion?: string;
  now?: Date;
}

/**
 * Verifies a release statement, in this order (each failure throws with its code):
 * 1. k-of-n signatures over the exact bytes (E_SIGNATURE) — nothing unsigned is even parsed;
 * 2. parse and schema (E_STATEMENT);
 * 3. repository, digest and channel binding (E_STATEMENT);
 * 4. sequence lower than installed (E_ROLLBACK; equal is the installed release itself);
 * 5. expiry (E_EXPIRED);
 * 6. minAgentVersion against agentVersion, when given (E_INCOMPATIBLE).
 */
export function verifyRelease(input: VerifyReleaseInput): ReleaseStatement {
  verifyThreshold(input.trustedKeys, input.statement, input.signatures, input.threshold);
  const statement = parseStatement(input.statement);
  for (const field of ['repository', 'digest', 'channel'] as const) {
    if (statement[field] !== input.expect[field]) {
      throw new MinerhaulError(
        'E_STATEMENT',
        `statement is for ${field} ${JSON.stringify(statement[field])}, expected ${JSON.stringify(input.expect[field])}`,
        { details: { field, statement: statement[field], expected: input.expect[field] } },
      );
    }
  }
  if (input.installedSequence !== undefined && statement.sequence < input.installedSequence) {
    throw new MinerhaulError(
      'E_ROLLBACK',
      `statement sequence ${statement.sequence} is lower than the installed ${input.installedSequence}`,
      { details: { sequence: statement.sequence, installedSequence: input.installedSequence } },
    );
  }
  if (
    input.installedSequence !== undefined &&
    input.installedDigest !== undefined &&
    statement.sequence === input.installedSequence &&
    statement.digest !== input.installedDigest
  ) {
    throw new MinerhaulError(
      'E_ROLLBACK',
      `statement sequence ${statement.sequence} is already installed with another digest; a new release needs a higher sequence`,
      {
        details: {
          sequence: statement.sequence,
          installedDigest: input.installedDigest,
          digest: statement.digest,
        },
      },
    );
  }
  const now = input.now ?? new Date();
  if (statement.expires !== undefined && now.getTime() >= Date.parse(statement.expires)) {
    throw new MinerhaulError('E_EXPIRED', `statement expired at ${statement.expires}`, {
      details: { expires: statement.expires, now: now.toISOString() },
    });
  }
  if (
    input.agentVersion !== undefined &&
    statement.minAgentVersion !== undefined &&
    compareSemver(input.agentVersion, statement.minAgentVersion) < 0
  ) {
    throw new MinerhaulError(
      'E_INCOMPATIBLE',
      `release needs agent ${statement.minAgentVersion} or newer (this agent is ${input.agentVersion})`,
      { details: { minAgentVersion: statement.minAgentVersion, agentVersion: input.agentVersion } },
    );
  }
  return statement;
}
