import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OciLayoutStore } from '../../src/layout/oci-layout-store';
import { copyImage, signImage, verifyImage } from '../../src/publish';
import type { TransferProgress } from '../../src/progress';
import type { Descriptor } from '../../src/image-store';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTestImage, expectCode, makeKey } from './fixtures';
import { MemoryStore } from './memory-store';

describe('copyImage', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  const alice = makeKey();
  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  describe('when a signed image is copied to another store', () => {
    it('returns the same digest, carries the signature along and reports progress per blob', async () => {
      const src = new OciLayoutStore(join(tmp.path, 'src'), 'example.org/miner');
      const built = await buildTestImage(src, tmp.path, '1.0.0', 'stable');
      await signImage(src, { reference: 'stable', secretKey: alice.secret });
      const dst = new MemoryStore('mirror.example.org/miner');
      const events: string[] = [];
      const progress: TransferProgress = {
        start: (d: Descriptor) => events.push(`start ${d.digest}`),
        update: () => undefined,
        done: (d: Descriptor) => events.push(`done ${d.digest}`),
        close: () => events.push('close'),
      };
      const result = await copyImage(src, dst, { reference: 'stable', tag: 'stable', progress });
      expect(result.descriptor.digest).toBe(built.index.digest);
      expect(result.referrers).toBe(1);
      expect((await dst.resolve('stable'))?.digest).toBe(built.index.digest);
      // config + one layer for the image, empty config + statement + signature for the artifact
      expect(events.filter((e) => e.startsWith('done'))).toHaveLength(5);
      expect(events[events.length - 1]).toBe('close');
      const verified = await verifyImage(dst, {
        reference: 'stable',
        trustedKeys: [alice.public],
        repository: 'example.org/miner',
      });
      expect(verified.subject.digest).toBe(built.index.digest);
    });
  });

  describe('when the destination already holds the blobs', () => {
    it('uploads nothing again', async () => {
      const src = new OciLayoutStore(join(tmp.path, 'src2'));
      await buildTestImage(src, tmp.path, '2.0.0', 'v2');
      const dst = new MemoryStore();
      await copyImage(src, dst, { reference: 'v2', tag: 'v2' });
      const before = dst.uploads.length;
      await copyImage(src, dst, { reference: 'v2', tag: 'again' });
      expect(dst.uploads.length).toBe(before);
      expect((await dst.resolve('again'))?.digest).toBe((await dst.resolve('v2'))?.digest);
    });
  });

  describe('when signatures are not wanted', () => {
    it('copies no referrer', async () => {
      const src = new MemoryStore();
      await buildTestImage(src, tmp.path, '3.0.0', 'stable');
      await signImage(src, { reference: 'stable', secretKey: alice.secret });
      const dst = new MemoryStore();
      const result = await copyImage(src, dst, { reference: 'stable', tag: 'stable', signatures: false });
      expect(result.referrers).toBe(0);
      expect(dst.tags.size).toBe(1);
    });
  });

  describe('when the source is broken', () => {
    it('refuses an unknown reference with E_NOT_FOUND', async () => {
      await expectCode(copyImage(new MemoryStore(), new MemoryStore(), { reference: 'nope' }), 'E_NOT_FOUND');
    });
    it('refuses a blob whose content does not match its digest with E_DIGEST and tags nothing', async () => {
      const src = new MemoryStore();
      const built = await buildTestImage(src, tmp.path, '4.0.0', 'stable');
      const layer = [...src.blobs.keys()].find((d) => d !== built.index.digest) ?? '';
      src.blobs.set(layer, Buffer.from('corrupted'));
      const dst = new MemoryStore();
      await expectCode(copyImage(src, dst, { reference: 'stable', tag: 'stable' }), 'E_DIGEST');
      expect(dst.tags.size).toBe(0);
      expect(dst.blobs.has(layer)).toBe(false);
    });
  });

  describe('when one transfer fails', () => {
    it('starts no queued transfer after it', async () => {
      const src = new MemoryStore();
      const built = await buildTestImage(src, tmp.path, '6.0.0', 'x');
      const manifest = JSON.parse(
        src.manifests.get(built.manifests[0]?.digest ?? '')?.bytes.toString() ?? '{}',
      ) as {
        config: { digest: string };
      };
      src.blobs.set(manifest.config.digest, Buffer.from('corrupted config'));
      let opened = 0;
      const open = src.openBlob.bind(src);
      src.openBlob = async (d: Descriptor): Promise<Readable> => {
        opened++;
        return open(d);
      };
      const dst = new MemoryStore();
      await expectCode(copyImage(src, dst, { reference: 'x', concurrency: 1 }), 'E_DIGEST');
      expect(opened).toBe(1);
      expect(dst.uploads).toEqual([]);
    });
  });

  it('accepts a stream factory that is called once per blob', async () => {
    const src = new MemoryStore();
    await buildTestImage(src, tmp.path, '5.0.0', 'x');
    let opened = 0;
    const open = src.openBlob.bind(src);
    src.openBlob = async (d: Descriptor): Promise<Readable> => {
      opened++;
      return open(d);
    };
    await copyImage(src, new MemoryStore(), { reference: 'x' });
    expect(opened).toBe(2);
  });
});
