// The unpack worker thread (docs/decisions/0307) seen from its caller: errors keep their codes
// and errno fields across the thread boundary, and once unpackLayer rejects (abort, free-space
// guard, broken stream) nothing more is written.
import { readdirSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { isMinerhaulError, MinerhaulError } from '@minerhaul/signing';
import { unpackLayer } from '@minerhaul/updater';
import { mapFsError } from '../../src/unpack/unpack-errors';
import { deserializeError, serializeError } from '../../src/unpack/worker-protocol';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTar, TAR, TAR_GZIP, type TarSpec } from './tar-builder';

let tmp: { path: string; cleanup: () => void };
let root: string;

beforeEach(() => {
  tmp = makeTmpDir('minerhaul-unpack-worker-');
  root = join(tmp.path, 'root');
  mkdirSync(root);
});
afterEach(() => tmp.cleanup());

/** `count` files of `size` bytes (distinct content, so nothing is shared). */
function files(count: number, size: number): TarSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `d/f${i}`, data: Buffer.alloc(size, i % 251) }));
}

/** The layer in 64 KiB chunks, with a pause after each `pauseEvery` chunks (a slow download). */
function slowly(layer: Buffer, pauseEvery = 4, pauseMs = 5, failAfter?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0, n = 0; i < layer.length; i += 64 * 1024, n += 1) {
        if (failAfter !== undefined && i >= failAfter) throw new Error('connection reset');
        if (n % pauseEvery === 0) await sleep(pauseMs);
        yield layer.subarray(i, i + 64 * 1024);
      }
    })(),
  );
}

/** Every path under `dir` with its size: compared before and after a pause to see late writes. */
function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .sort()
    .map((p) => `${p} ${statSync(join(dir, p)).size}`);
}

async function expectNoLateWrites(dir: string): Promise<void> {
  const before = listing(dir);
  await sleep(200);
  expect(listing(dir)).toEqual(before);
}

describe('unpackLayer on the worker thread', () => {
  describe('when the layer is refused', () => {
    it('rejects with a MinerhaulError that kept its code and details', async () => {
      const tar = buildTar([
        { name: 'ok', data: 'x' },
        { name: '../escape', data: 'x' },
      ]);
      const err = await unpackLayer(Readable.from([tar]), { mediaType: TAR, destDir: root }).catch(
        (e: unknown) => e,
      );
      expect(isMinerhaulError(err, 'E_UNSAFE_ARCHIVE')).toBe(true);
      expect((err as MinerhaulError).details).toBeDefined();
    });

    it('rejects a diff_id mismatch with E_DIGEST and both digests', async () => {
      const tar = buildTar([{ name: 'f', data: 'x' }]);
      const err = await unpackLayer(Readable.from([tar]), {
        mediaType: TAR,
        destDir: root,
        expectedDiffId: `sha256:${'0'.repeat(64)}`,
      }).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_DIGEST')).toBe(true);
      expect((err as MinerhaulError).details).toMatchObject({ expected: `sha256:${'0'.repeat(64)}` });
    });
  });

  describe('when an error crosses the thread boundary', () => {
    it('keeps errno fields, so a full disk still maps to E_NO_SPACE', () => {
      const errno = Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
        path: '/x/y',
      });
      const back = deserializeError(serializeError(errno)) as NodeJS.ErrnoException;
      expect(back).toMatchObject({ code: 'ENOSPC', errno: -28, syscall: 'write', path: '/x/y' });
      expect(mapFsError(back, '/x')).toMatchObject({ code: 'E_NO_SPACE' });
    });

    it('keeps a MinerhaulError with its cause chain', () => {
      const inner = Object.assign(new Error('EIO'), { code: 'EIO' });
      const err = new MinerhaulError('E_NO_SPACE', 'full', { cause: inner, details: { path: '/x' } });
      const back = deserializeError(serializeError(err));
      expect(back).toBeInstanceOf(MinerhaulError);
      expect(back).toMatchObject({ code: 'E_NO_SPACE', message: 'full', details: { path: '/x' } });
      expect((back as Error).cause).toMatchObject({ code: 'EIO' });
    });
  });

  describe('when aborted mid-layer', () => {
    it('rejects and writes nothing afterwards', async () => {
      const tar = buildTar(files(200, 32 * 1024)); // ~100 chunks, 10 ms apart
      const controller = new AbortController();
      const done = unpackLayer(slowly(tar, 1, 10), {
        mediaType: TAR,
        destDir: root,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 100);
      await expect(done).rejects.toThrow();
      await expectNoLateWrites(root);
      expect(listing(root).length).toBeLessThan(200);
    });
  });

  describe('when the free-space guard refuses', () => {
    it('stops the layer with its E_NO_SPACE within a few MiB and writes nothing afterwards', async () => {
      const limit = 4 * 1024 * 1024;
      let written = 0;
      const onWritten = async (bytes: number): Promise<void> => {
        written += bytes;
        if (written > limit) throw new MinerhaulError('E_NO_SPACE', 'disk full (test guard)');
      };
      const tar = buildTar(files(40, 1024 * 1024)); // 40 MiB of files
      await expect(
        unpackLayer(slowly(tar, 16, 1), { mediaType: TAR, destDir: root, onWritten }),
      ).rejects.toMatchObject({ code: 'E_NO_SPACE', message: 'disk full (test guard)' });
      await expectNoLateWrites(root);
      const onDisk = listing(root).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
      expect(onDisk).toBeLessThan(limit + 10 * 1024 * 1024);
    });

    it('sees every byte written by a layer that completes', async () => {
      let written = 0;
      const tar = buildTar(files(5, 300 * 1024));
      const result = await unpackLayer(Readable.from([tar]), {
        mediaType: TAR,
        destDir: root,
        onWritten: async (bytes) => {
          written += bytes;
        },
      });
      expect(written).toBe(5 * 300 * 1024);
      expect(result.bytesWritten).toBe(written);
    });
  });

  describe('when the stream fails mid-layer', () => {
    it('rejects with the stream error and writes nothing afterwards', async () => {
      const tar = buildTar(files(100, 64 * 1024));
      await expect(
        unpackLayer(slowly(tar, 2, 2, 1024 * 1024), { mediaType: TAR, destDir: root }),
      ).rejects.toThrow('connection reset');
      await expectNoLateWrites(root);
    });
  });

  describe('when layers are unpacked concurrently', () => {
    it('gives each its own worker and applies both', async () => {
      const other = join(tmp.path, 'other');
      mkdirSync(other);
      const a = gzipSync(buildTar(files(30, 100 * 1024)));
      const [ra, rb] = await Promise.all([
        unpackLayer(slowly(a), { mediaType: TAR_GZIP, destDir: root }),
        unpackLayer(slowly(a), { mediaType: TAR_GZIP, destDir: other }),
      ]);
      expect(ra.diffId).toBe(rb.diffId);
      expect(listing(other)).toEqual(listing(root));
    });
  });
});
