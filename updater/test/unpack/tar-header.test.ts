import { Readable } from 'node:stream';
import { parseHeader, parsePax, readNumber } from '../../src/unpack/tar-header';
import { TarReader } from '../../src/unpack/tar-reader';
import { buildTar, header, paxRecords } from './tar-builder';

const limits = { maxBytes: 1 << 30, maxMetaBytes: 1 << 20 };

async function entries(tar: Buffer, chunk = tar.length) {
  const parts: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) parts.push(tar.subarray(i, i + chunk));
  const reader = new TarReader(Readable.from(parts), limits);
  const out: Array<{ path: string; kind: string; body: string }> = [];
  for (;;) {
    const e = await reader.next();
    if (!e) break;
    const body: Buffer[] = [];
    await reader.readBody((s) => {
      body.push(Buffer.from(s));
    });
    out.push({ path: e.path, kind: e.kind, body: Buffer.concat(body).toString() });
  }
  await reader.finish();
  return out;
}

describe('tar header parsing', () => {
  describe('when numbers use the different encodings', () => {
    it('reads octal with NUL or space terminators and leading spaces', () => {
      const b = Buffer.alloc(16);
      b.write('0000755\0', 0, 'latin1');
      expect(readNumber(b, 0, 8, 'mode')).toBe(0o755);
      b.write('  1750 ', 0, 'latin1');
      expect(readNumber(b, 0, 8, 'mode')).toBe(0o1750);
      b.fill(0);
      expect(readNumber(b, 0, 8, 'mode')).toBe(0);
    });

    it('reads base-256 and refuses negative base-256 values', () => {
      const b = Buffer.alloc(12);
      b[0] = 0x80;
      b[10] = 0x01;
      b[11] = 0x02;
      expect(readNumber(b, 0, 12, 'size')).toBe(0x0102);
      b[0] = 0xff;
      expect(() => readNumber(b, 0, 12, 'size')).toThrow(
        expect.objectContaining({ code: 'E_UNSAFE_ARCHIVE' }),
      );
    });

    it('refuses non-octal digits', () => {
      const b = Buffer.from('0000789\0');
      expect(() => readNumber(b, 0, 8, 'mode')).toThrow(
        expect.objectContaining({ code: 'E_UNSAFE_ARCHIVE' }),
      );
    });
  });

  describe('when a header is parsed', () => {
    it('folds typeflags and joins the ustar prefix', () => {
      const h = parseHeader(header({ name: 'f', prefix: 'a/b', type: '7', size: 3 }));
      expect(h).toMatchObject({ kind: 'file', name: 'a/b/f', size: 3 });
      expect(parseHeader(header({ name: 'x', type: '\0', size: 0 })).kind).toBe('file');
    });

    it('accepts a checksum computed with signed bytes (old tars)', () => {
      const h = header({ name: 'é', type: '0', size: 0 }); // bytes >= 0x80
      let signed = 0;
      for (let i = 0; i < 512; i += 1) {
        const byte = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
        signed += byte > 127 ? byte - 256 : byte;
      }
      h.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      expect(parseHeader(h).name).toBe('é');
    });

    it('refuses unknown typeflags', () => {
      for (const t of ['S', 'V', 'M', 'N', 'A', 'Z']) {
        expect(() => parseHeader(header({ name: 'x', type: t, size: 0 }))).toThrow(
          expect.objectContaining({ code: 'E_UNSAFE_ARCHIVE' }),
        );
      }
    });
  });

  describe('when PAX records are parsed', () => {
    it('reads path, linkpath, size, mtime, uid, gid and xattr names, ignoring unknown keys', () => {
      const pax = parsePax(
        paxRecords({
          path: 'p/ä',
          linkpath: 'l',
          size: '12',
          mtime: '1700000000.25',
          uid: '7',
          gid: '8',
          'SCHILY.xattr.user.a': 'v',
          comment: 'x=y',
        }),
      );
      expect(pax).toEqual({
        path: 'p/ä',
        linkPath: 'l',
        size: 12,
        mtime: 1_700_000_000,
        uid: 7,
        gid: 8,
        xattrs: ['user.a'],
      });
    });

    it('refuses malformed records', () => {
      for (const bad of ['5 a=b\n', '99 path=x\n', '10 path=x', 'x path=y\n', '6 =ab\n', '12 size=-1\n']) {
        expect(() => parsePax(Buffer.from(bad))).toThrow(
          expect.objectContaining({ code: 'E_UNSAFE_ARCHIVE' }),
        );
      }
    });

    it('refuses GNU sparse keys', () => {
      expect(() => parsePax(paxRecords({ 'GNU.sparse.major': '1' }))).toThrow(
        expect.objectContaining({ code: 'E_UNSAFE_ARCHIVE' }),
      );
    });
  });

  describe('when a stream is read', () => {
    const tar = buildTar([
      { name: 'a', data: 'x'.repeat(700) },
      { name: 'ignored', data: 'long-name', gnuLong: true },
      { name: 'b', data: 'pax', pax: { path: 'pax/b' } },
      { name: 'd/', type: '5' },
    ]);

    it('gives the same entries whatever the chunking (1, 7, 512 and 4096 bytes)', async () => {
      const whole = await entries(tar);
      expect(whole.map((e) => e.path)).toEqual(['a', 'ignored', 'pax/b', 'd/']);
      expect(whole[0]?.body).toBe('x'.repeat(700));
      for (const chunk of [1, 7, 512, 4096]) expect(await entries(tar, chunk)).toEqual(whole);
    });

    it('ends cleanly at a block boundary without end-of-archive blocks', async () => {
      const noEnd = buildTar([{ name: 'f', data: 'x' }], { end: false });
      expect((await entries(noEnd)).map((e) => e.path)).toEqual(['f']);
    });

    it('refuses a stream ending inside a header', async () => {
      await expect(entries(tar.subarray(0, 100))).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
    });

    it('stops at the first zero block and ignores entries hidden after it', async () => {
      const hidden = Buffer.concat([
        buildTar([{ name: 'f', data: '1' }]),
        buildTar([{ name: 'hidden', data: '2' }]),
      ]);
      expect((await entries(hidden)).map((e) => e.path)).toEqual(['f']);
    });
  });
});
