import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { DigestVerifier } from '@minerhaul/registry-tools';
import { BlobStore, fetchAndUnpack, spaceGuard, type BlobSource } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTar, TAR, TAR_GZIP, type TarSpec } from '../unpack/tar-builder';

let tmp: { path: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir('minerhaul-fetch-');
});
afterEach(() => tmp.cleanup());

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface TestLayer {
  blob: Buffer;
  descriptor: { mediaType: string; digest: string; size: number };
  diffId: string;
}
function makeLayer(entries: TarSpec[], compressed = true): TestLayer {
  const tar = buildTar(entries);
  const blob = compressed ? gzipSync(tar) : tar;
  return {
    blob,
    descriptor: { mediaType: compressed ? TAR_GZIP : TAR, digest: sha(blob), size: blob.length },
    diffId: sha(tar),
  };
}

/** A registry stand-in: serves blobs by digest from an offset, counts requests, can fail mid-way. */
function registry(
  layers: TestLayer[],
  opts: {
    failDigest?: string;
    failAfter?: number;
    tamper?: string;
    tamperAt?: number;
    /** Serve through a DigestVerifier as the registry client does (the store then skips its hash). */
    verify?: boolean;
  } = {},
) {
  const requests: Array<{ digest: string; offset: number }> = [];
  const source: BlobSource = async (blob, offset) => {
    requests.push({ digest: blob.digest, offset });
    const layer = layers.find((l) => l.descriptor.digest === blob.digest);
    if (!layer) throw new Error('unknown blob');
    let body = layer.blob.subarray(offset);
    if (opts.tamper === blob.digest)
      body = Buffer.from(body.map((b, i) => (i === opts.tamperAt ? b ^ 0xff : b)));
    const fail = opts.failDigest === blob.digest ? opts.failAfter : undefined;
    const stream = Readable.from(
      (async function* () {
        for (let i = 0; i < body.length; i += 4096) {
          if (fail !== undefined && i >= fail) throw new Error('connection reset');
          yield body.subarray(i, i + 4096);
        }
      })(),
    );
    if (!opts.verify || offset > 0) return stream;
    const verifier = new DigestVerifier(layer.descriptor);
    stream.on('error', (err) => verifier.destroy(err));
    return stream.pipe(verifier);
  };
  return { source, requests };
}

const random = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i += 1) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
};

const shared = () => makeLayer([{ name: 'opt/miner/lib/libshared.so', data: random(200_000, 1) }]);
const v1 = () => makeLayer([{ name: 'opt/miner/bin/miner', data: 'v1', mode: 0o755 }]);
const v2 = () => makeLayer([{ name: 'opt/miner/bin/miner', data: 'v2', mode: 0o755 }]);

describe('fetchAndUnpack', () => {
  describe('when updating v1 to v2 with a shared layer', () => {
    it('fetches the shared layer once and builds both releases', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const [s, a, b] = [shared(), v1(), v2()];
      const reg = registry([s, a, b]);
      const r1 = await fetchAndUnpack({
        store,
        layers: [s, a],
        source: reg.source,
        destDir: join(tmp.path, 'releases', 'v1'),
      });
      const r2 = await fetchAndUnpack({
        store,
        layers: [s, b],
        source: reg.source,
        destDir: join(tmp.path, 'releases', 'v2'),
      });
      expect(reg.requests.map((r) => r.digest)).toEqual([
        s.descriptor.digest,
        a.descriptor.digest,
        b.descriptor.digest,
      ]);
      expect(r1.fromStore).toEqual([false, false]);
      expect(r2.fromStore).toEqual([true, false]);
      expect(r2.bytesFetched).toBe(b.descriptor.size);
      expect(readFileSync(join(tmp.path, 'releases/v2/opt/miner/bin/miner'), 'utf8')).toBe('v2');
      expect(
        readFileSync(join(tmp.path, 'releases/v1/opt/miner/lib/libshared.so')).equals(
          readFileSync(join(tmp.path, 'releases/v2/opt/miner/lib/libshared.so')),
        ),
      ).toBe(true);
      expect(r2.layers.map((l) => l.diffId)).toEqual([s.diffId, b.diffId]);
      expect(new Set(await store.list())).toEqual(new Set([s, a, b].map((l) => l.descriptor.digest)));
    });
  });

  describe('when a download is interrupted', () => {
    it('keeps the partial blob, discards the staging release and resumes with a Range request next time', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const s = shared();
      const dest = join(tmp.path, 'releases', 'v1');
      const broken = registry([s], { failDigest: s.descriptor.digest, failAfter: 8192 });
      await expect(
        fetchAndUnpack({ store, layers: [s], source: broken.source, destDir: dest }),
      ).rejects.toThrow('connection reset');
      expect(existsSync(dest)).toBe(false);
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
      expect(await store.partialSize(s.descriptor.digest)).toBe(8192);

      const reg = registry([s]);
      const progress: number[] = [];
      const result = await fetchAndUnpack({
        store,
        layers: [s],
        source: reg.source,
        destDir: dest,
        onProgress: (p) => progress.push(p.transferred),
      });
      expect(reg.requests).toEqual([{ digest: s.descriptor.digest, offset: 8192 }]);
      expect(result.bytesFetched).toBe(s.descriptor.size - 8192);
      expect(progress[progress.length - 1]).toBe(s.descriptor.size);
      expect(readFileSync(join(dest, 'opt/miner/lib/libshared.so')).equals(random(200_000, 1))).toBe(true);
    });
  });

  describe('when the content is wrong', () => {
    it('refuses a tampered layer whose tar still parses (E_DIGEST), keeps no blob and no release', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = makeLayer([{ name: 'opt/miner/bin/miner', data: 'v1 miner binary' }], false);
      const dest = join(tmp.path, 'releases', 'v1');
      const reg = registry([a], { tamper: a.descriptor.digest, tamperAt: 512 + 3 }); // inside the file data
      await expect(
        fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: dest }),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(await store.list()).toEqual([]);
      expect(await store.partialSize(a.descriptor.digest)).toBe(0);
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
    });

    it('refuses it the same way when only the registry client verifies it (docs/decisions/0900)', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = makeLayer([{ name: 'opt/miner/bin/miner', data: 'v1 miner binary' }], false);
      const dest = join(tmp.path, 'releases', 'v1');
      const reg = registry([a], { tamper: a.descriptor.digest, tamperAt: 512 + 3, verify: true });
      await expect(
        fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: dest }),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(await store.list()).toEqual([]);
      expect(await store.partialSize(a.descriptor.digest)).toBe(0);
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
      // The same source untampered installs and stores the blob.
      const clean = registry([a], { verify: true });
      await fetchAndUnpack({ store, layers: [a], source: clean.source, destDir: dest });
      expect(await store.list()).toEqual([a.descriptor.digest]);
      expect(readFileSync(join(dest, 'opt/miner/bin/miner'), 'utf8')).toBe('v1 miner binary');
    });

    it('refuses a tampered gzip layer before its end (corrupt stream), keeping nothing usable', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = v1();
      const dest = join(tmp.path, 'releases', 'v1');
      const reg = registry([a], { tamper: a.descriptor.digest, tamperAt: 30 });
      const err = await fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: dest }).catch(
        (e: { code?: string }) => e,
      );
      expect(['E_UNSAFE_ARCHIVE', 'E_DIGEST']).toContain((err as { code?: string }).code);
      expect(await store.has(a.descriptor.digest)).toBe(false);
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
    });

    it('refuses a diff_id mismatch (E_DIGEST) and discards the release', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = v1();
      const dest = join(tmp.path, 'releases', 'v1');
      await expect(
        fetchAndUnpack({
          store,
          layers: [{ ...a, diffId: sha(Buffer.from('other')) }],
          source: registry([a]).source,
          destDir: dest,
        }),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
    });

    it('refuses a hostile layer (E_UNSAFE_ARCHIVE) and discards the release', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const bad = makeLayer([
        { name: 'ok', data: 'x' },
        { name: '../escape', data: 'x' },
      ]);
      const dest = join(tmp.path, 'releases', 'bad');
      await expect(
        fetchAndUnpack({ store, layers: [bad], source: registry([bad]).source, destDir: dest }),
      ).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
      expect(existsSync(join(tmp.path, 'escape'))).toBe(false);
    });
  });

  describe('when a held layer rotted on disk', () => {
    it('refuses it (E_DIGEST), discards the release and forgets the blob so it is fetched again', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = makeLayer([{ name: 'opt/miner/bin/miner', data: 'v1 miner binary' }], false);
      const reg = registry([a]);
      await fetchAndUnpack({
        store,
        layers: [a],
        source: reg.source,
        destDir: join(tmp.path, 'releases', 'v1'),
      });
      const rotten = Buffer.from(a.blob);
      rotten[515] = (rotten[515] as number) ^ 0x01;
      writeFileSync(store.blobPath(a.descriptor.digest), rotten);
      const dest = join(tmp.path, 'releases', 'v1-again');
      await expect(
        fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: dest }),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(existsSync(dest)).toBe(false);
      expect(await store.has(a.descriptor.digest)).toBe(false);
      const again = await fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: dest });
      expect(again.fromStore).toEqual([false]);
      expect(reg.requests).toHaveLength(2);
    });
  });

  describe('when the disk is too full', () => {
    it('refuses with E_NO_SPACE before any download', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'), {
        spaceProbe: async () => 20_000,
        reserveBytes: 10_000,
      });
      const s = shared();
      const reg = registry([s]);
      await expect(
        fetchAndUnpack({ store, layers: [s], source: reg.source, destDir: join(tmp.path, 'r') }),
      ).rejects.toMatchObject({ code: 'E_NO_SPACE' });
      expect(reg.requests).toEqual([]);
    });
  });

  describe('when the store and the release are on different disks', () => {
    it('checks each disk for its own part and refuses with E_NO_SPACE before any download', async () => {
      // /dev/shm is a mount of its own wherever Linux runs; the release's disk is the one that is full.
      const releaseParent = mkdtempSync('/dev/shm/minerhaul-release-');
      try {
        expect(statSync(releaseParent).dev).not.toBe(statSync(tmp.path).dev);
        const probed: string[] = [];
        const store = await BlobStore.open(join(tmp.path, 'store'), {
          spaceProbe: async (path) => {
            probed.push(path);
            return path.startsWith(releaseParent) ? 20_000 : 1e12;
          },
          reserveBytes: 10_000,
        });
        const s = shared();
        const reg = registry([s]);
        const error = await fetchAndUnpack({
          store,
          layers: [s],
          source: reg.source,
          destDir: join(releaseParent, 'r'),
        }).catch((err: unknown) => err);
        expect(error).toMatchObject({ code: 'E_NO_SPACE' });
        expect((error as Error).message).toContain('for unpack');
        expect(probed).toEqual([store.root, releaseParent]); // the download's check passed first
        expect(reg.requests).toEqual([]);
      } finally {
        rmSync(releaseParent, { recursive: true, force: true });
      }
    });
  });

  describe('when the destination already has content', () => {
    it('refuses with E_CONFIG and leaves it alone', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      const a = v1();
      const reg = registry([a]);
      await fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: join(tmp.path, 'r') });
      await expect(
        fetchAndUnpack({ store, layers: [a], source: reg.source, destDir: join(tmp.path, 'r') }),
      ).rejects.toMatchObject({ code: 'E_CONFIG' });
      expect(readFileSync(join(tmp.path, 'r/opt/miner/bin/miner'), 'utf8')).toBe('v1');
    });
  });
});

describe('spaceGuard', () => {
  it('checks free space every interval of bytes written and refuses below the reserve', async () => {
    let free = 1000;
    let probes = 0;
    const guard = spaceGuard(tmp.path, 500, async () => ((probes += 1), free), 100);
    await guard(60);
    expect(probes).toBe(0);
    await guard(60);
    expect(probes).toBe(1);
    free = 400;
    await guard(50);
    await expect(guard(60)).rejects.toMatchObject({ code: 'E_NO_SPACE' });
  });
});
