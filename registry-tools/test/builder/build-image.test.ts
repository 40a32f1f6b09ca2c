import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'zstd-napi';
import { type ErrorCode, isMinerhaulError } from '@minerhaul/signing';
import {
  type BuildOptions,
  buildImage,
  parsePlatformSource,
  sourceDateEpochFromEnv,
} from '../../src/builder';
import { OciLayoutStore } from '../../src/layout/oci-layout-store';
import { makeTmpDir } from '../../../test/support/tmp-dir';

const EPOCH = 1_700_000_000;

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
}

function blob(layoutDir: string, digest: string): Buffer {
  return readFileSync(join(layoutDir, 'blobs', 'sha256', digest.replace('sha256:', '')));
}

function json(layoutDir: string, digest: string): Record<string, unknown> {
  return JSON.parse(blob(layoutDir, digest).toString('utf8')) as Record<string, unknown>;
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(isMinerhaulError(caught, code)).toBe(true);
}

describe('buildImage', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let arm64: string;
  let amd64: string;
  let common: string;

  beforeAll(() => {
    tmp = makeTmpDir();
    arm64 = join(tmp.path, 'arm64');
    amd64 = join(tmp.path, 'amd64');
    common = join(tmp.path, 'common');
    writeTree(arm64, { 'bin/miner': '#!/bin/sh\necho arm64\n', 'lib/native.so': 'arm64 lib' });
    writeTree(amd64, { 'bin/miner': '#!/bin/sh\necho amd64\n', 'lib/native.so': 'amd64 lib' });
    writeTree(common, { 'share/app.beam': 'bytecode', 'lib/README': 'readme' });
    chmodSync(join(arm64, 'bin/miner'), 0o700);
    chmodSync(join(amd64, 'bin/miner'), 0o750);
    symlinkSync('../share/app.beam', join(arm64, 'bin/app'));
  });
  afterAll(() => tmp.cleanup());

  function options(extra: Partial<BuildOptions> = {}): BuildOptions {
    return {
      platforms: [
        { platform: { os: 'linux', architecture: 'arm64' }, dir: arm64 },
        { platform: { os: 'linux', architecture: 'amd64' }, dir: amd64 },
      ],
      common,
      version: '1.2.3',
      sourceDateEpoch: EPOCH,
      source: 'https://example.org/miner',
      revision: 'abc123',
      ...extra,
    };
  }

  describe('when built twice from the same input and SOURCE_DATE_EPOCH', () => {
    it('returns identical digests even when host times and modes differ', async () => {
      const a = await buildImage(options(), new OciLayoutStore(join(tmp.path, 'out-a')));
      utimesSync(join(arm64, 'lib/native.so'), 12345, 12345);
      chmodSync(join(amd64, 'bin/miner'), 0o755);
      const b = await buildImage(
        options({ platforms: [...options().platforms].reverse() }),
        new OciLayoutStore(join(tmp.path, 'out-b')),
      );
      expect(b.index.digest).toBe(a.index.digest);
      expect(b.manifests.map((m) => m.digest)).toEqual(a.manifests.map((m) => m.digest));
    });
  });

  describe('when the input changes', () => {
    it('returns a different index digest', async () => {
      const a = await buildImage(options(), new OciLayoutStore(join(tmp.path, 'out-c')));
      const b = await buildImage(options({ version: '1.2.4' }), new OciLayoutStore(join(tmp.path, 'out-d')));
      expect(b.index.digest).not.toBe(a.index.digest);
    });
  });

  describe('when --common is given', () => {
    it('puts the same common layer first in every platform manifest', async () => {
      const dir = join(tmp.path, 'out-common');
      const result = await buildImage(options(), new OciLayoutStore(dir));
      expect(result.manifests).toHaveLength(2);
      const layers = result.manifests.map((m) => json(dir, m.digest).layers as { digest: string }[]);
      expect(layers[0]?.[0]?.digest).toBe(result.commonLayer?.digest);
      expect(layers[1]?.[0]?.digest).toBe(result.commonLayer?.digest);
      expect(layers[0]?.[1]?.digest).not.toBe(layers[1]?.[1]?.digest);
    });
  });

  describe('when the image is read back', () => {
    it('returns an index with platforms and annotations, configs with entrypoint and matching diff_ids', async () => {
      const dir = join(tmp.path, 'out-read');
      const result = await buildImage(options(), new OciLayoutStore(dir));
      const index = json(dir, result.index.digest) as {
        manifests: { platform: { architecture: string } }[];
        annotations: Record<string, string>;
      };
      expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
      expect(index.annotations).toEqual({
        'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
        'org.opencontainers.image.revision': 'abc123',
        'org.opencontainers.image.source': 'https://example.org/miner',
        'org.opencontainers.image.version': '1.2.3',
      });
      const arm = result.manifests.find((m) => m.platform?.architecture === 'arm64');
      const manifest = json(dir, arm?.digest ?? '') as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const config = json(dir, manifest.config.digest) as {
        architecture: string;
        config: { Entrypoint: string[] };
        rootfs: { diff_ids: string[] };
      };
      expect(config.architecture).toBe('arm64');
      expect(config.config.Entrypoint).toEqual(['/opt/miner/bin/miner']);
      const platformLayer = blob(dir, manifest.layers[1]?.digest ?? '');
      const tar = gunzipSync(platformLayer);
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[1]);
      expect(platformLayer[9]).toBe(0xff); // gzip OS byte pinned to "unknown"
      const tarPath = join(tmp.path, 'layer.tar');
      writeFileSync(tarPath, tar);
      const listing = execFileSync('tar', ['-tvf', tarPath, '--numeric-owner'], { encoding: 'utf8' });
      expect(listing).toContain('opt/miner/bin/miner');
      expect(listing).toMatch(/-rwxr-xr-x 0\/0 +\d+ 2023-11-14 \d\d:\d\d opt\/miner\/bin\/miner/);
      expect(listing).toMatch(/-rw-r--r-- 0\/0 .* opt\/miner\/lib\/native.so/);
      expect(listing).toContain('opt/miner/bin/app -> ../share/app.beam');
      const names = execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).trim().split('\n');
      expect(names).toEqual([
        'opt/',
        'opt/miner/',
        'opt/miner/bin/',
        'opt/miner/bin/app',
        'opt/miner/bin/miner',
        'opt/miner/lib/',
        'opt/miner/lib/native.so',
      ]);
    });
  });

  describe('when zstd is asked for', () => {
    it('returns zstd layers that decompress to the tar named by diff_ids', async () => {
      const dir = join(tmp.path, 'out-zstd');
      const result = await buildImage(
        options({ compression: 'zstd', common: undefined }),
        new OciLayoutStore(dir),
      );
      const manifest = json(dir, result.manifests[0]?.digest ?? '') as {
        config: { digest: string };
        layers: { digest: string; mediaType: string }[];
      };
      expect(manifest.layers[0]?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
      const tar = decompress(blob(dir, manifest.layers[0]?.digest ?? ''));
      const config = json(dir, manifest.config.digest) as { rootfs: { diff_ids: string[] } };
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[0]);
    });
  });

  describe('when the input is bad', () => {
    const store = (): OciLayoutStore => new OciLayoutStore(join(tmp.path, 'out-bad'));
    it('refuses a missing directory with E_CONFIG', async () => {
      await expectCode(buildImage(options({ common: join(tmp.path, 'nope') }), store()), 'E_CONFIG');
    });
    it('refuses a file present in both --common and a platform with E_CONFIG', async () => {
      const clash = join(tmp.path, 'clash');
      writeTree(clash, { 'bin/miner': 'x', 'share/app.beam': 'other' });
      await expectCode(
        buildImage(
          options({ platforms: [{ platform: { os: 'linux', architecture: 'arm64' }, dir: clash }] }),
          store(),
        ),
        'E_CONFIG',
      );
    });
    it('refuses an entrypoint that is not in the image with E_CONFIG', async () => {
      await expectCode(buildImage(options({ entrypoint: 'bin/other' }), store()), 'E_CONFIG');
    });
    it('refuses no platform at all with E_CONFIG', async () => {
      await expectCode(buildImage(options({ platforms: [] }), store()), 'E_CONFIG');
    });
    it('refuses the same platform twice with E_CONFIG', async () => {
      const p = { platform: { os: 'linux', architecture: 'arm64' }, dir: arm64 };
      await expectCode(buildImage(options({ platforms: [p, p] }), store()), 'E_CONFIG');
    });
    it('refuses a prefix with .. with E_CONFIG', async () => {
      await expectCode(buildImage(options({ prefix: '/opt/../etc' }), store()), 'E_CONFIG');
    });
    it('refuses with E_NO_SPACE when the staging directory is full', async () => {
      const small = join(tmp.path, 'small');
      const big = join(tmp.path, 'big');
      mkdirSync(small);
      writeTree(big, { 'bin/miner': '' });
      writeFileSync(join(big, 'bin/miner'), randomBytes(512 * 1024));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
      try {
        await expectCode(
          buildImage(
            options({
              common: undefined,
              stageDir: small,
              platforms: [{ platform: { os: 'linux', architecture: 'arm64' }, dir: big }],
            }),
            store(),
          ),
          'E_NO_SPACE',
        );
      } finally {
        execFileSync('umount', [small]);
      }
    });
    it('refuses a version that is not a valid tag when no tag is given, with E_CONFIG', async () => {
      await expectCode(buildImage(options({ version: '1.0 beta' }), store()), 'E_CONFIG');
    });
  });
});

describe('parsePlatformSource', () => {
  it('returns linux/arm64 for a bare directory', () => {
    expect(parsePlatformSource('out/arm64')).toEqual({
      platform: { os: 'linux', architecture: 'arm64' },
      dir: 'out/arm64',
    });
  });
  it('returns the variant when given', () => {
    expect(parsePlatformSource('linux/arm/v7=d')).toEqual({
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      dir: 'd',
    });
  });
  it.each(['linux=d', 'linux/arm64=', 'Linux/ARM=d', 'a/b/c/d=x'])('refuses %s with E_CONFIG', (spec) => {
    let caught: unknown;
    try {
      parsePlatformSource(spec);
    } catch (err) {
      caught = err;
    }
    expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
  });
});

describe('sourceDateEpochFromEnv', () => {
  it('returns the number of seconds', () => {
    expect(sourceDateEpochFromEnv({ SOURCE_DATE_EPOCH: '1700000000' })).toBe(1_700_000_000);
  });
  it('returns undefined when unset', () => {
    expect(sourceDateEpochFromEnv({})).toBeUndefined();
  });
  it('refuses a non-integer with E_CONFIG', () => {
    expect(() => sourceDateEpochFromEnv({ SOURCE_DATE_EPOCH: '17e8' })).toThrow(/SOURCE_DATE_EPOCH/);
  });
});
