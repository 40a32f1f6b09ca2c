import {
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  normalizePlatform,
  parsePlatform,
  selectPlatform,
  type Descriptor,
  type ImageIndex,
} from '@minerhaul/registry-tools';
import { thrownCode as codeOf } from '../../../test/support/error-code';

const d = (n: number, platform?: Descriptor['platform'], extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 100 + n,
  ...(platform ? { platform } : {}),
  ...extra,
});
const index = (...manifests: Descriptor[]): ImageIndex => ({
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_INDEX,
  manifests,
});

describe('selectPlatform', () => {
  describe('when the index holds the platform', () => {
    it('returns the first exact match', () => {
      const idx = index(
        d(1, { os: 'linux', architecture: 'amd64' }),
        d(2, { os: 'linux', architecture: 'arm64' }),
        d(3, { os: 'linux', architecture: 'arm64' }),
      );
      expect(selectPlatform(idx, 'linux/arm64').digest).toBe(d(2).digest);
    });

    it.each([['v8'], ['8'], ['v8.0'], [undefined]])('treats arm64 variant %s as plain arm64', (variant) => {
      const idx = index(d(1, { os: 'linux', architecture: 'arm64', ...(variant ? { variant } : {}) }));
      expect(selectPlatform(idx, 'linux/arm64').digest).toBe(d(1).digest);
      expect(selectPlatform(idx, { os: 'linux', architecture: 'aarch64', variant: 'v8' }).digest).toBe(
        d(1).digest,
      );
    });

    it('matches arm variants exactly', () => {
      const idx = index(
        d(6, { os: 'linux', architecture: 'arm', variant: 'v6' }),
        d(7, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      );
      expect(selectPlatform(idx, 'linux/arm/v7').digest).toBe(d(7).digest);
      expect(selectPlatform(idx, 'linux/arm').digest).toBe(d(7).digest);
    });

    it('skips attestation entries and unknown media types', () => {
      const idx = index(
        d(1, { os: 'linux', architecture: 'arm64' }, { mediaType: 'application/vnd.example.thing' }),
        d(
          2,
          { os: 'linux', architecture: 'arm64' },
          { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        ),
        d(3, { os: 'linux', architecture: 'arm64' }),
      );
      expect(selectPlatform(idx, 'linux/arm64').digest).toBe(d(3).digest);
    });
  });

  describe('when the index lacks the platform', () => {
    it('refuses with E_PLATFORM and does not fall back to 32-bit arm', () => {
      const idx = index(
        d(1, { os: 'linux', architecture: 'arm', variant: 'v7' }),
        d(2, { os: 'unknown', architecture: 'unknown' }),
      );
      expect(codeOf(() => selectPlatform(idx, 'linux/arm64'))).toBe('E_PLATFORM');
      expect(codeOf(() => selectPlatform(index(), 'linux/arm64'))).toBe('E_PLATFORM');
      expect(codeOf(() => selectPlatform(idx, 'windows/arm/v7'))).toBe('E_PLATFORM');
    });
  });
});

describe('parsePlatform', () => {
  it('normalises aliases', () => {
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'Linux', architecture: 'armhf' })).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
  });

  it.each(['linux', 'linux/', '/arm64', 'linux/arm64/', 'a/b/c/d'])('refuses %j with E_CONFIG', (text) => {
    expect(codeOf(() => parsePlatform(text))).toBe('E_CONFIG');
  });
});
