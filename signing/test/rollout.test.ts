import { isInRollout, rolloutBucket } from '@minerhaul/signing';

const DIGEST_A = `sha256:${'01'.repeat(32)}`;
const DIGEST_B = `sha256:${'02'.repeat(32)}`;
const devices = Array.from({ length: 2000 }, (_, i) => `device-${i}`);

describe('rolloutBucket', () => {
  it('returns a stable number in [0, 100)', () => {
    for (const d of devices.slice(0, 50)) {
      const bucket = rolloutBucket(d, DIGEST_A);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(100);
      expect(rolloutBucket(d, DIGEST_A)).toBe(bucket);
    }
  });

  it('spreads devices roughly evenly and differently per digest', () => {
    const under10 = devices.filter((d) => rolloutBucket(d, DIGEST_A) < 10).length;
    expect(under10).toBeGreaterThan(120);
    expect(under10).toBeLessThan(280);
    const changed = devices.filter((d) => isInRollout(d, DIGEST_A, 10) !== isInRollout(d, DIGEST_B, 10));
    expect(changed.length).toBeGreaterThan(100);
  });
});

describe('isInRollout', () => {
  describe('when the percentage is raised', () => {
    it('keeps every device that was already in', () => {
      let previous = new Set<string>();
      for (const pct of [0, 1, 5, 25, 50, 99.5, 100]) {
        const now = new Set(devices.filter((d) => isInRollout(d, DIGEST_A, pct)));
        for (const d of previous) expect(now.has(d)).toBe(true);
        previous = now;
      }
      expect(previous.size).toBe(devices.length);
    });
  });

  describe('when there is no rollout or it is 0', () => {
    it('returns true for everyone / false for everyone', () => {
      expect(devices.every((d) => isInRollout(d, DIGEST_A, undefined))).toBe(true);
      expect(devices.some((d) => isInRollout(d, DIGEST_A, 0))).toBe(false);
    });
  });
});
