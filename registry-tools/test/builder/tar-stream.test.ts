import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { isMinerhaulError } from '@minerhaul/signing';
import { tarStream } from '../../src/builder/tar-stream';
import { walkTree } from '../../src/builder/tree-walker';
import { makeTmpDir } from '../../../test/support/tmp-dir';

describe('tarStream', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  describe('when names need PAX headers', () => {
    it('returns an archive GNU tar lists with the full long and non-ASCII names', async () => {
      const root = join(tmp.path, 'long');
      const deep = join(root, 'd'.repeat(120));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, `${'f'.repeat(110)}.txt`), 'long');
      writeFileSync(join(root, 'données-é.txt'), 'accents');
      const archive = join(tmp.path, 'long.tar');
      const chunks: Buffer[] = [];
      for await (const c of tarStream(await walkTree(root, '/opt/miner'), 0)) chunks.push(c as Buffer);
      writeFileSync(archive, Buffer.concat(chunks));
      const names = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
      expect(names).toContain(`opt/miner/${'d'.repeat(120)}/${'f'.repeat(110)}.txt`);
      expect(names).toContain('opt/miner/données-é.txt');
      expect(names.some((n) => n.includes('PaxHeaders'))).toBe(false);
      expect(Buffer.concat(chunks).length % 512).toBe(0);
    });
  });

  describe('when a file changed size after the walk', () => {
    it('fails the stream with E_CONFIG', async () => {
      const root = join(tmp.path, 'changing');
      mkdirSync(root);
      writeFileSync(join(root, 'grows'), 'short');
      const entries = await walkTree(root, '/opt/miner');
      writeFileSync(join(root, 'grows'), 'much longer now');
      let caught: unknown;
      try {
        await text(tarStream(entries, 0));
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
    });
  });
});

describe('walkTree', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  it('refuses a FIFO with E_CONFIG', async () => {
    const root = join(tmp.path, 'fifo');
    mkdirSync(root);
    execFileSync('mkfifo', [join(root, 'pipe')]);
    let caught: unknown;
    try {
      await walkTree(root, '/opt/miner');
    } catch (err) {
      caught = err;
    }
    expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
  });

  it('refuses a file where a directory is expected with E_CONFIG', async () => {
    writeFileSync(join(tmp.path, 'plain'), 'x');
    let caught: unknown;
    try {
      await walkTree(join(tmp.path, 'plain'), '/opt/miner');
    } catch (err) {
      caught = err;
    }
    expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
  });

  it('returns prefix directories first, then a byte-sorted pre-order walk', async () => {
    const root = join(tmp.path, 'order');
    mkdirSync(join(root, 'b'), { recursive: true });
    writeFileSync(join(root, 'B'), '');
    writeFileSync(join(root, 'a'), '');
    writeFileSync(join(root, 'b', 'z'), '');
    const paths = (await walkTree(root, '/srv/m/')).map((e) => e.path);
    expect(paths).toEqual(['srv/', 'srv/m/', 'srv/m/B', 'srv/m/a', 'srv/m/b/', 'srv/m/b/z']);
  });
});
