import { MinerhaulError, compareSemver, isSemver } from '@minerhaul/signing';

/**
 * A release that needs a newer agent is refused before anything is fetched (DESIGN.md statements).
 * signing's verifyRelease checks this too; the engine checks again so that any ReleaseVerifier
 * (a custom one included) gets the same rule.
 */
export function checkAgentVersion(minAgentVersion: string | undefined, agentVersion: string): void {
  if (minAgentVersion === undefined) return;
  if (!isSemver(minAgentVersion)) {
    throw new MinerhaulError('E_STATEMENT', `minAgentVersion is not a semantic version: ${minAgentVersion}`);
  }
  if (compareSemver(agentVersion, minAgentVersion) < 0) {
    throw new MinerhaulError(
      'E_INCOMPATIBLE',
      `this release needs agent ${minAgentVersion} or newer; this agent is ${agentVersion}`,
      { details: { minAgentVersion, agentVersion } },
    );
  }
}
