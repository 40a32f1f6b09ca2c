import { createHash } from 'node:crypto';

/**
 * Stable bucket in [0, 100) for a device and a release (DESIGN.md staged rollout). Hashing the digest
 * too gives each release a different first cohort; for one release, raising the percentage only
 * adds devices.
 */
export function rolloutBucket(deviceId: string, digest: string): number {
  const h = createHash('sha256').update(`minerhaul-rollout\0${deviceId}\0${digest}`, 'utf8').digest();
  // 48 bits keep the division exact in a double.
  return (h.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/** Whether the device takes the release; `percent` undefined means no staged rollout (everyone). */
export function isInRollout(deviceId: string, digest: string, percent: number | undefined): boolean {
  if (percent === undefined) return true;
  return rolloutBucket(deviceId, digest) < percent;
}
