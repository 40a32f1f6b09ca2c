import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackLayer, type UnpackLayerOptions } from '@minerhaul/updater';
import { compress } from 'zstd-napi';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTar, gzipTar, paxRecords, TAR, TAR_GZIP, TAR_ZSTD, type TarSpec } from './tar-builder';

let tmp: { path: string; cleanup: () => void };
let root: string;
let n = 0;

beforeEach(() => {
  tmp = makeTmpDir('minerhaul-unpack-');
  root = join(tmp.path, `root${(n += 1)}`);
  mkdirSync(root);
});
afterEach(() => tmp.cleanup());

function apply(layer: Buffer, mediaType = TAR, extra: Partial<UnpackLayerOptions> = {}) {
  return unpackLayer(Readable.from([layer]), { mediaType, destDir: root, ...extra });
}
const layer = (entries: TarSpec[]) => buildTar(entries);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('unpackLayer', () => {
  describe('when the layer is well-formed', () => {
    it('writes files, directories and symlinks with their modes and mtimes', async () => {
      const tar = layer([
        { name: 'opt/', type: '5', mode: 0o750, mtime: 1_600_000_000 },
        { name: 'opt/miner/', type: '5' },
        { name: 'opt/miner/run', data: '#!/bin/sh\n', mode: 0o755, mtime: 1_650_000_000 },
        { name: 'opt/miner/current', type: '2', linkName: '/opt/miner/run' },
      ]);
      const result = await apply(tar);
      expect(readFileSync(join(root, 'opt/miner/run'), 'utf8')).toBe('#!/bin/sh\n');
      expect(statSync(join(root, 'opt/miner/run')).mode & 0o7777).toBe(0o755);
      expect(statSync(join(root, 'opt/miner/run')).mtimeMs).toBe(1_650_000_000_000);
      expect(statSync(join(root, 'opt')).mode & 0o7777).toBe(0o750);
      expect(statSync(join(root, 'opt')).mtimeMs).toBe(1_600_000_000_000);
      expect(readlinkSync(join(root, 'opt/miner/current'))).toBe('/opt/miner/run'); // verbatim
      expect(result.diffId).toBe(sha256(tar));
      expect(result.entries).toBe(4);
      expect(result.bytesWritten).toBe(10);
    });

    it('creates missing parent directories', async () => {
      await apply(layer([{ name: 'a/b/c/file', data: 'x' }]));
      expect(statSync(join(root, 'a/b/c')).isDirectory()).toBe(true);
    });

    it('writes a file larger than one chunk intact', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      await apply(gzipTar([{ name: 'big.bin', data: big }]), TAR_GZIP);
      expect(readFileSync(join(root, 'big.bin')).equals(big)).toBe(true);
    });

    it('applies GNU long names and long link names', async () => {
      const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
      await apply(
        layer([
          { name: long, data: 'long', gnuLong: true },
          { name: 'l', type: '2', linkName: `/${'t'.repeat(200)}`, gnuLong: true },
          { name: `${long}-2`, data: 'x', gnuLong: true },
        ]),
      );
      expect(readFileSync(join(root, long), 'utf8')).toBe('long');
      expect(readlinkSync(join(root, 'l'))).toBe(`/${'t'.repeat(200)}`);
      expect(existsSync(join(root, `${long}-2`))).toBe(true);
    });

    it('applies PAX path, linkpath and mtime and ignores PAX global headers for paths', async () => {
      await apply(
        layer([
          {
            name: 'pax_global_header',
            type: 'g',
            data: paxRecords({ path: 'global/evil', linkpath: '/etc' }),
          },
          { name: 'plain', data: 'g' },
          { name: 'short', data: 'p', pax: { path: 'pax/named/file', mtime: '1700000123.5' } },
          { name: 'l', type: '2', linkName: 'x', pax: { linkpath: 'pax/named/file' } },
        ]),
      );
      expect(readFileSync(join(root, 'pax/named/file'), 'utf8')).toBe('p');
      expect(statSync(join(root, 'pax/named/file')).mtimeMs).toBe(1_700_000_123_000);
      expect(readlinkSync(join(root, 'l'))).toBe('pax/named/file');
      expect(readFileSync(join(root, 'plain'), 'utf8')).toBe('g');
      expect(existsSync(join(root, 'global'))).toBe(false);
    });

    it('uses the ustar prefix field', async () => {
      await apply(layer([{ name: 'file', prefix: 'usr/share/doc', data: 'd' }]));
      expect(readFileSync(join(root, 'usr/share/doc/file'), 'utf8')).toBe('d');
    });

    it('links hard links to files inside the release', async () => {
      await apply(
        layer([
          { name: 'bin/busybox', data: 'bb', mode: 0o755 },
          { name: 'bin/sh', type: '1', linkName: 'bin/busybox' },
        ]),
      );
      expect(statSync(join(root, 'bin/sh')).ino).toBe(statSync(join(root, 'bin/busybox')).ino);
    });

    it('decompresses zstd layers', async () => {
      const tar = layer([{ name: 'z', data: 'zstd!' }]);
      const result = await apply(compress(tar), TAR_ZSTD);
      expect(readFileSync(join(root, 'z'), 'utf8')).toBe('zstd!');
      expect(result.compression).toBe('zstd');
      expect(result.diffId).toBe(sha256(tar));
    });

    it('accepts a matching diff_id and tolerates padding after the end marker', async () => {
      const tar = Buffer.concat([layer([{ name: 'f', data: '1' }]), Buffer.alloc(10240)]);
      const result = await apply(tar, TAR, { expectedDiffId: sha256(tar) });
      expect(result.diffId).toBe(sha256(tar));
      expect(result.uncompressedBytes).toBe(tar.length);
    });

    it('sniffs the Docker uncompressed media type, which may be compressed', async () => {
      const result = await apply(
        gzipTar([{ name: 'd', data: '1' }]),
        'application/vnd.docker.image.rootfs.diff.tar',
      );
      expect(result.compression).toBe('gzip');
      expect(existsSync(join(root, 'd'))).toBe(true);
    });
  });

  describe('when the layer changes lower layers', () => {
    it('replaces a file by a directory and a directory by a file', async () => {
      await apply(
        layer([
          { name: 'x', data: 'file' },
          { name: 'y/', type: '5' },
          { name: 'y/child', data: 'c' },
        ]),
      );
      await apply(
        layer([
          { name: 'x/', type: '5' },
          { name: 'y', data: 'now a file' },
        ]),
      );
      expect(statSync(join(root, 'x')).isDirectory()).toBe(true);
      expect(readFileSync(join(root, 'y'), 'utf8')).toBe('now a file');
    });

    it('replaces many lower-layer files, symlinks and directories written concurrently', async () => {
      const lower: TarSpec[] = [];
      const upper: TarSpec[] = [];
      for (let i = 0; i < 60; i += 1) {
        if (i % 3 === 0) lower.push({ name: `d/n${i}`, data: `old ${i}` });
        else if (i % 3 === 1) lower.push({ name: `d/n${i}`, type: '2', linkName: '/etc' });
        else lower.push({ name: `d/n${i}/child`, data: 'old child' });
        upper.push({ name: `d/n${i}`, data: `new ${i}`, mode: 0o640 });
      }
      await apply(layer(lower));
      const result = await apply(layer(upper));
      for (let i = 0; i < 60; i += 1) {
        expect(lstatSync(join(root, `d/n${i}`)).isFile()).toBe(true);
        expect(readFileSync(join(root, `d/n${i}`), 'utf8')).toBe(`new ${i}`);
        expect(statSync(join(root, `d/n${i}`)).mode & 0o777).toBe(0o640);
      }
      expect(result.entries).toBe(60);
    });

    it('keeps a directory and its children when a later layer redefines it, changing only its metadata', async () => {
      await apply(
        layer([
          { name: 'etc/', type: '5', mode: 0o755 },
          { name: 'etc/keep', data: 'k' },
        ]),
      );
      await apply(layer([{ name: 'etc/', type: '5', mode: 0o700 }]));
      expect(readFileSync(join(root, 'etc/keep'), 'utf8')).toBe('k');
      expect(statSync(join(root, 'etc')).mode & 0o777).toBe(0o700);
    });

    it('replaces a lower-layer symlink rather than writing through it', async () => {
      await apply(
        layer([
          { name: 'target', data: 'original' },
          { name: 'link', type: '2', linkName: 'target' },
        ]),
      );
      await apply(layer([{ name: 'link', data: 'new file' }]));
      expect(lstatSync(join(root, 'link')).isFile()).toBe(true);
      expect(readFileSync(join(root, 'target'), 'utf8')).toBe('original');
    });

    it('writes through a lower-layer directory symlink (merged /usr) inside the release', async () => {
      await apply(
        layer([
          { name: 'usr/lib/', type: '5' },
          { name: 'lib', type: '2', linkName: 'usr/lib' },
        ]),
      );
      await apply(layer([{ name: 'lib/libminer.so', data: 'so' }]));
      expect(readFileSync(join(root, 'usr/lib/libminer.so'), 'utf8')).toBe('so');
    });

    it('deletes whited-out files and directory trees', async () => {
      await apply(
        layer([
          { name: 'a/file', data: '1' },
          { name: 'a/sub/deep', data: '2' },
          { name: 'a/stay', data: '3' },
        ]),
      );
      const result = await apply(layer([{ name: 'a/.wh.file' }, { name: 'a/.wh.sub' }]));
      expect(existsSync(join(root, 'a/file'))).toBe(false);
      expect(existsSync(join(root, 'a/sub'))).toBe(false);
      expect(existsSync(join(root, 'a/stay'))).toBe(true);
      expect(existsSync(join(root, 'a/.wh.file'))).toBe(false);
      expect(result.entries).toBe(2);
    });

    it('never hides what the same layer wrote, whatever the order', async () => {
      await apply(layer([{ name: 'd/x', data: 'lower' }]));
      await apply(layer([{ name: 'd/x', data: 'upper' }, { name: 'd/.wh.x' }]));
      expect(readFileSync(join(root, 'd/x'), 'utf8')).toBe('upper');
    });

    it('applies an opaque whiteout to lower-layer children only, even when it comes last', async () => {
      await apply(
        layer([
          { name: 'cfg/old1', data: '1' },
          { name: 'cfg/old2/f', data: '2' },
        ]),
      );
      await apply(layer([{ name: 'cfg/new', data: 'n' }, { name: 'cfg/.wh..wh..opq' }]));
      expect(existsSync(join(root, 'cfg/old1'))).toBe(false);
      expect(existsSync(join(root, 'cfg/old2'))).toBe(false);
      expect(readFileSync(join(root, 'cfg/new'), 'utf8')).toBe('n');
      expect(existsSync(join(root, 'cfg/.wh..wh..opq'))).toBe(false);
    });

    it('ignores a whiteout for something that does not exist', async () => {
      await apply(layer([{ name: 'nothing/.wh.here' }, { name: '.wh.absent' }]));
      expect(existsSync(join(root, 'nothing'))).toBe(false);
    });
  });

  describe('when ownership and modes come from the archive', () => {
    it('strips setuid, setgid and sticky bits from files and directories', async () => {
      await apply(
        layer([
          { name: 'su', data: 'x', mode: 0o4755 },
          { name: 'sg', data: 'x', mode: 0o2755 },
          { name: 'tmp/', type: '5', mode: 0o1777 },
        ]),
      );
      expect(statSync(join(root, 'su')).mode & 0o7777).toBe(0o755);
      expect(statSync(join(root, 'sg')).mode & 0o7777).toBe(0o755);
      expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o777);
    });

    it('gives files to the unpacking user, never to the archive uid/gid', async () => {
      await apply(
        layer([
          { name: 'owned', data: 'x', uid: 1234, gid: 1234 },
          { name: 'rootish/', type: '5', uid: 0, gid: 0 },
        ]),
      );
      expect(statSync(join(root, 'owned')).uid).toBe(process.getuid!());
      expect(statSync(join(root, 'owned')).gid).toBe(process.getgid!());
    });

    it('gives everything to a configured owner', async () => {
      await apply(
        layer([
          { name: 'd/', type: '5', uid: 0 },
          { name: 'd/f', data: 'x', uid: 0 },
          { name: 'd/big', data: Buffer.alloc(300_000), uid: 5 },
          { name: 'd/huge', data: Buffer.alloc(2 * 1024 * 1024 + 1), uid: 5 },
          { name: 'd/l', type: '2', linkName: 'f' },
          { name: 'implicit/f', data: 'y' },
        ]),
        TAR,
        { owner: { uid: 4321, gid: 4322 } },
      );
      for (const p of ['d', 'd/f', 'd/big', 'd/huge', 'implicit', 'implicit/f']) {
        expect([p, statSync(join(root, p)).uid, statSync(join(root, p)).gid]).toEqual([p, 4321, 4322]);
      }
      expect(lstatSync(join(root, 'd/l')).uid).toBe(4321);
    });

    it('counts and drops extended attributes', async () => {
      const result = await apply(
        layer([
          {
            name: 'cap',
            data: 'x',
            pax: { 'SCHILY.xattr.security.capability': 'AAAA', 'SCHILY.xattr.user.x': '1' },
          },
        ]),
      );
      expect(result.droppedXattrs).toBe(2);
      expect(existsSync(join(root, 'cap'))).toBe(true);
    });
  });

  describe('when the content does not match its description', () => {
    it('refuses a diff_id mismatch with E_DIGEST', async () => {
      await expect(
        apply(layer([{ name: 'f', data: '1' }]), TAR, { expectedDiffId: sha256(Buffer.from('other')) }),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
    });

    it('refuses gzip content labelled as a plain tar', async () => {
      await expect(apply(gzipTar([{ name: 'f', data: '1' }]), TAR)).rejects.toMatchObject({
        code: 'E_UNSAFE_ARCHIVE',
      });
    });

    it('refuses a plain tar labelled as gzip, and zstd labelled as gzip', async () => {
      await expect(apply(layer([{ name: 'f', data: '1' }]), TAR_GZIP)).rejects.toMatchObject({
        code: 'E_UNSAFE_ARCHIVE',
      });
      await expect(apply(compress(layer([{ name: 'f', data: '1' }])), TAR_GZIP)).rejects.toMatchObject({
        code: 'E_UNSAFE_ARCHIVE',
      });
    });

    it('refuses an unknown layer media type', async () => {
      await expect(apply(layer([]), 'application/x-rar')).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses a corrupt gzip stream', async () => {
      const gz = gzipTar([{ name: 'f', data: Buffer.alloc(100_000, 1) }]);
      gz.fill(0x55, 20, 60);
      await expect(apply(gz, TAR_GZIP)).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses a layer truncated inside an entry', async () => {
      const tar = layer([{ name: 'f', data: Buffer.alloc(5000, 2) }]);
      await expect(apply(tar.subarray(0, 2048))).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses a layer bigger than maxBytes', async () => {
      await expect(
        apply(layer([{ name: 'f', data: Buffer.alloc(64 * 1024) }]), TAR, { maxBytes: 32 * 1024 }),
      ).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses too many entries', async () => {
      await expect(
        apply(
          layer([
            { name: 'a', data: '' },
            { name: 'b', data: '' },
            { name: 'c', data: '' },
          ]),
          TAR,
          { maxEntries: 2 },
        ),
      ).rejects.toMatchObject({
        code: 'E_UNSAFE_ARCHIVE',
      });
    });

    it('refuses a duplicate path inside one layer', async () => {
      await expect(
        apply(
          layer([
            { name: 'dup', data: '1' },
            { name: 'dup', data: '2' },
          ]),
        ),
      ).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('refuses a destination that does not exist (E_CONFIG)', async () => {
      await expect(apply(layer([]), TAR, { destDir: join(root, 'missing') })).rejects.toMatchObject({
        code: 'E_CONFIG',
      });
    });

    it('stops when aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(
        apply(layer([{ name: 'f', data: '1' }]), TAR, { signal: controller.signal }),
      ).rejects.toThrow();
      expect(existsSync(join(root, 'f'))).toBe(false);
    });
  });
});
