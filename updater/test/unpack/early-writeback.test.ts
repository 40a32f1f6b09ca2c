import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EarlyWriteback } from '../../src/unpack/early-writeback';
import { makeTmpDir } from '../../../test/support/tmp-dir';

let tmp: { path: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir('minerhaul-writeback-');
});
afterEach(() => tmp.cleanup());

/** fstat on a closed descriptor fails: how the tests see that the writeback closed it. */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('EarlyWriteback', () => {
  it('flushes and closes the files it takes, at most `limit` at a time', async () => {
    const writeback = new EarlyWriteback(2);
    const fds = [0, 1, 2].map((i) => {
      const fd = openSync(join(tmp.path, `f${i}`), 'w');
      writeSync(fd, Buffer.alloc(4096, i));
      return fd;
    });
    expect(fds.map((fd) => writeback.take(fd))).toEqual([true, true, false]);
    closeSync(fds[2]!); // refused: the caller closes it
    await writeback.settle();
    expect(fds.slice(0, 2).map(isOpen)).toEqual([false, false]);
    expect(() => writeback.throwIfFailed()).not.toThrow();
  });

  it('keeps a failed flush for the next layer to report, and takes no more files', async () => {
    const writeback = new EarlyWriteback(2);
    // fdatasync(2) on a character device fails with EINVAL: a stand-in for EIO on a real disk.
    expect(writeback.take(openSync('/dev/null', 'r'))).toBe(true);
    await writeback.settle();
    expect(() => writeback.throwIfFailed()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const fd = openSync(join(tmp.path, 'after'), 'w');
    expect(writeback.take(fd)).toBe(false);
    closeSync(fd);
  });
});
