import { fetchReleaseStatements, verifyReleaseStatements } from '@minerhaul/registry-tools';
import { MINERHAUL_VERSION, MinerhaulError, type PublicKey } from '@minerhaul/signing';
import type { ReleaseVerifier, VerifiedStatement } from './ports';

export interface StatementVerifierOptions {
  trustedKeys: PublicKey[];
  threshold: number;
  /** The channel the statement must name (DESIGN.md: the followed tag unless `source.channel`). */
  channel: string;
  /** `trust.identity`: the repository the statement must name, for mirrors and oci-layout copies. */
  identity?: string;
  agentVersion?: string;
}

/**
 * Lifecycle step 2: the statements stored beside the digest (referrers or fallback tag), checked by
 * signing's verifyRelease (k-of-n signatures first, then binding, anti-rollback, expiry,
 * minAgentVersion). Only small statement blobs are read: no layer is fetched before this passes.
 */
export function statementVerifier(options: StatementVerifierOptions): ReleaseVerifier {
  if (options.trustedKeys.length === 0) {
    throw new MinerhaulError('E_CONFIG', 'no trusted keys: refusing to verify releases against nothing');
  }
  if (!Number.isInteger(options.threshold) || options.threshold < 1) {
    throw new MinerhaulError('E_CONFIG', `threshold must be a positive integer, got ${options.threshold}`);
  }
  if (options.threshold > options.trustedKeys.length) {
    throw new MinerhaulError(
      'E_CONFIG',
      `threshold ${options.threshold} exceeds the ${options.trustedKeys.length} trusted keys`,
    );
  }
  return {
    async verify({
      store,
      digest,
      installedSequence,
      installedDigest,
      now,
      signal,
    }): Promise<VerifiedStatement> {
      const fetched = await fetchReleaseStatements(store, digest, signal);
      const { statement } = verifyReleaseStatements(fetched, {
        trustedKeys: options.trustedKeys,
        threshold: options.threshold,
        expect: { repository: options.identity ?? store.repository, digest, channel: options.channel },
        ...(installedSequence !== undefined ? { installedSequence } : {}),
        ...(installedDigest !== undefined ? { installedDigest } : {}),
        agentVersion: options.agentVersion ?? MINERHAUL_VERSION,
        now,
      });
      return statement;
    },
  };
}
