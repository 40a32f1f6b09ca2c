import { isMinerhaulError } from '@minerhaul/signing';
import { BLOCK_SIZE, encodeTarHeader } from '../../src/builder/tar-header';

function field(block: Buffer, offset: number, length: number): string {
  return block
    .subarray(offset, offset + length)
    .toString('utf8')
    .replace(/\0.*$/s, '');
}

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block);
  copy.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of copy) sum += b;
  return parseInt(field(block, 148, 8), 8) === sum;
}

describe('encodeTarHeader', () => {
  describe('when the path is short', () => {
    it('returns one ustar block with uid/gid 0, the given mtime and a valid checksum', () => {
      const h = encodeTarHeader({
        path: 'opt/miner/bin/miner',
        type: 'file',
        mode: 0o755,
        size: 1234,
        mtime: 1700000000,
      });
      expect(h.length).toBe(BLOCK_SIZE);
      expect(field(h, 0, 100)).toBe('opt/miner/bin/miner');
      expect(parseInt(field(h, 100, 8), 8)).toBe(0o755);
      expect(parseInt(field(h, 108, 8), 8)).toBe(0);
      expect(parseInt(field(h, 116, 8), 8)).toBe(0);
      expect(parseInt(field(h, 124, 12), 8)).toBe(1234);
      expect(parseInt(field(h, 136, 12), 8)).toBe(1700000000);
      expect(field(h, 257, 6)).toBe('ustar');
      expect(field(h, 265, 32)).toBe('');
      expect(checksumOk(h)).toBe(true);
    });
  });

  describe('when the path is longer than 100 bytes but splits at a slash', () => {
    it('returns a ustar header using the prefix field', () => {
      const path = `opt/miner/${'d'.repeat(90)}/${'f'.repeat(60)}`;
      const h = encodeTarHeader({ path, type: 'file', mode: 0o644, size: 0, mtime: 0 });
      expect(h.length).toBe(BLOCK_SIZE);
      expect(`${field(h, 345, 155)}/${field(h, 0, 100)}`).toBe(path);
    });
  });

  describe('when the path cannot be split or is not ASCII', () => {
    it.each([
      ['a 120-byte file name', `opt/${'x'.repeat(120)}`],
      ['a non-ASCII name', 'opt/miner/données.txt'],
    ])('returns a PAX header carrying the full path for %s', (_label, path) => {
      const h = encodeTarHeader({ path, type: 'file', mode: 0o644, size: 3, mtime: 5 });
      expect(h.length).toBe(3 * BLOCK_SIZE);
      expect(field(h, 156, 1)).toBe('x');
      const size = parseInt(field(h, 124, 12), 8);
      const record = h.subarray(BLOCK_SIZE, BLOCK_SIZE + size).toString('utf8');
      expect(record).toBe(`${Buffer.byteLength(record)} path=${path}\n`);
      expect(checksumOk(h.subarray(2 * BLOCK_SIZE))).toBe(true);
    });
  });

  describe('when a symlink target is longer than 100 bytes', () => {
    it('returns a PAX linkpath record', () => {
      const target = '/'.concat('t'.repeat(150));
      const h = encodeTarHeader({
        path: 'opt/l',
        type: 'symlink',
        mode: 0o777,
        size: 0,
        mtime: 0,
        linkTarget: target,
      });
      expect(h.toString('utf8')).toContain(`linkpath=${target}\n`);
      expect(field(h, 2 * BLOCK_SIZE + 156, 1)).toBe('2');
    });
  });

  describe('when a value does not fit', () => {
    it('refuses a negative mtime with E_CONFIG', () => {
      let caught: unknown;
      try {
        encodeTarHeader({ path: 'a', type: 'file', mode: 0o644, size: 0, mtime: -1 });
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
    });
  });
});
