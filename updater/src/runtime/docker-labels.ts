import type { RuntimeRelease } from './miner-runtime';

/**
 * Labels on every container the docker runtime creates. They carry the release identity so that recovery
 * reconciles by labels after any crash (protocol-reference §7.5 step 9), and the restart policy to give
 * the container back when it becomes the active one again (it is set to `no` while kept, §7.4).
 */
export const LABELS = {
  /** The runtime instance (its name prefix): several runtimes may share one engine. */
  managed: 'io.minerhaul.managed',
  digest: 'io.minerhaul.digest',
  manifestDigest: 'io.minerhaul.manifest-digest',
  version: 'io.minerhaul.version',
  sequence: 'io.minerhaul.sequence',
  restartPolicy: 'io.minerhaul.restart-policy',
  /** OCI annotation key, so `docker ps` users see the version too (image-spec annotations.md). */
  ociVersion: 'org.opencontainers.image.version',
} as const;

export function releaseLabels(
  release: RuntimeRelease,
  restartPolicy: string,
  instance: string,
): Record<string, string> {
  return {
    [LABELS.managed]: instance,
    [LABELS.digest]: release.digest,
    [LABELS.manifestDigest]: release.manifestDigest,
    [LABELS.version]: release.version,
    [LABELS.sequence]: String(release.sequence),
    [LABELS.restartPolicy]: restartPolicy,
    [LABELS.ociVersion]: release.version,
  };
}

/** Our labels are set per release, never copied from the old container. */
export function isOwnLabel(key: string): boolean {
  return key.startsWith('io.minerhaul.') || key === LABELS.ociVersion;
}

/** Container name for a release: stable, so a create redone after a crash finds the first one (409). */
export function containerName(prefix: string, digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return `${prefix}-${hex.slice(0, 12)}`;
}
