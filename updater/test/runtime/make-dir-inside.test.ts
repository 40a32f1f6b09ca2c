import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirInside } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';

describe('makeDirInside', () => {
  const tmp = makeTmpDir('minerhaul-mkdir-');
  afterAll(() => tmp.cleanup());

  it('creates missing mount points below the root', () => {
    const root = join(tmp.path, 'ok');
    mkdirSync(root);
    makeDirInside(root, '/var/lib/miner');
    makeDirInside(root, '/var/lib/miner');
    expect(lstatSync(join(root, 'var/lib/miner')).isDirectory()).toBe(true);
  });

  describe('when the release plants a symlink on the way', () => {
    it('refuses with E_RUNTIME and creates nothing outside', () => {
      const root = join(tmp.path, 'hostile');
      const outside = join(tmp.path, 'outside');
      mkdirSync(root);
      mkdirSync(outside);
      symlinkSync(outside, join(root, 'var'));
      expect(() => makeDirInside(root, '/var/lib/miner')).toThrow(
        expect.objectContaining({ code: 'E_RUNTIME' }),
      );
      expect(readdirSync(outside)).toEqual([]);
    });

    it('refuses a file where a directory must be', () => {
      const root = join(tmp.path, 'file');
      mkdirSync(root);
      writeFileSync(join(root, 'tmp'), 'x');
      expect(() => makeDirInside(root, '/tmp')).toThrow(expect.objectContaining({ code: 'E_RUNTIME' }));
    });
  });

  it('refuses a path leaving the root with E_CONFIG', () => {
    expect(() => makeDirInside(tmp.path, '../../etc')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
