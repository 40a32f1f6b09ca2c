import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackImage, type ImageLayer } from '@minerhaul/updater';
import { compress } from 'zstd-napi';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTar, TAR, TAR_ZSTD, type TarSpec } from './tar-builder';

let tmp: { path: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir('minerhaul-image-');
});
afterEach(() => tmp.cleanup());

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
function layer(entries: TarSpec[], zstd = false): ImageLayer {
  const tar = buildTar(entries);
  const blob = zstd ? compress(tar) : tar;
  return {
    descriptor: { mediaType: zstd ? TAR_ZSTD : TAR, digest: sha(blob), size: blob.length },
    diffId: sha(tar),
    open: async () => Readable.from([blob]),
  };
}

describe('unpackImage', () => {
  describe('when every layer is good', () => {
    it('applies the layers in order into a fresh release directory', async () => {
      const dest = join(tmp.path, 'releases', 'r1');
      const result = await unpackImage(
        [
          layer([
            { name: 'etc/conf', data: 'base' },
            { name: 'etc/old', data: 'gone' },
          ]),
          layer([{ name: 'etc/conf', data: 'top' }, { name: 'etc/.wh.old' }], true),
        ],
        dest,
        { durable: true },
      );
      expect(readFileSync(join(dest, 'etc/conf'), 'utf8')).toBe('top');
      expect(existsSync(join(dest, 'etc/old'))).toBe(false);
      expect(statSync(dest).mode & 0o777).toBe(0o755);
      expect(result.layers.map((l) => l.compression)).toEqual(['none', 'zstd']);
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual(['r1']); // no staging left behind
    });

    it('accepts an existing empty destination directory', async () => {
      const dest = join(tmp.path, 'empty');
      mkdirSync(dest);
      await unpackImage([layer([{ name: 'f', data: '1' }])], dest, { durable: false });
      expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('1');
    });
  });

  describe('when something is wrong', () => {
    it('discards everything when a later layer is hostile', async () => {
      const dest = join(tmp.path, 'releases', 'r1');
      await expect(
        unpackImage([layer([{ name: 'ok', data: '1' }]), layer([{ name: '../../x', data: '2' }])], dest),
      ).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
      expect(readdirSync(join(tmp.path, 'releases'))).toEqual([]);
    });

    it('names the failing layer in the error', async () => {
      const bad = layer([{ name: 'f', data: '1' }]);
      const err = await unpackImage([{ ...bad, diffId: sha(Buffer.from('x')) }], join(tmp.path, 'r')).catch(
        (e: Error) => e,
      );
      expect(err).toMatchObject({ code: 'E_DIGEST' });
      expect((err as Error).message).toContain(bad.descriptor.digest);
    });

    it('refuses a corrupt zstd layer', async () => {
      const good = layer([{ name: 'f', data: 'x'.repeat(10_000) }], true);
      const blob = compress(buildTar([{ name: 'f', data: 'x'.repeat(10_000) }])).subarray(0, 40);
      await expect(
        unpackImage([{ ...good, open: async () => Readable.from([blob]) }], join(tmp.path, 'r')),
      ).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses a non-empty destination (E_CONFIG) and leaves it alone', async () => {
      const dest = join(tmp.path, 'full');
      mkdirSync(dest);
      writeFileSync(join(dest, 'keep'), 'k');
      await expect(unpackImage([layer([{ name: 'f', data: '1' }])], dest)).rejects.toMatchObject({
        code: 'E_CONFIG',
      });
      expect(readdirSync(dest)).toEqual(['keep']);
    });

    it('stops before the next layer when aborted', async () => {
      const controller = new AbortController();
      const second = layer([{ name: 'second', data: '2' }]);
      const opened: string[] = [];
      const layers = [
        layer([{ name: 'first', data: '1' }]),
        { ...second, open: async () => (opened.push('second'), second.open()) },
      ];
      const done = unpackImage(layers, join(tmp.path, 'r'), {
        signal: controller.signal,
        beforeLayer: async (i) => (i === 1 ? controller.abort() : undefined),
      });
      await expect(done).rejects.toThrow();
      expect(opened).toEqual([]);
      expect(readdirSync(tmp.path)).toEqual([]); // neither the release nor its staging directory
    });
  });
});
