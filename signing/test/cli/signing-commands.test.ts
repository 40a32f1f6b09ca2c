import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '@minerhaul/cli';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { HORSE, REGRESS, sigFile } from '../vectors';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'minerhaul', ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    stdoutIsTty: false,
  });
  return { code, stdout, stderr };
}

describe('signing commands', () => {
  const tmp = makeTmpDir();
  const p = (name: string): string => join(tmp.path, name);
  afterAll(() => tmp.cleanup());

  describe('key generate', () => {
    describe('when run with --no-passphrase', () => {
      it('writes a 0600 secret key and a public key, refusing to overwrite them later', async () => {
        const run = await cli([
          'key',
          'generate',
          '--public',
          p('a.pub'),
          '--secret',
          p('a.sec'),
          '--no-passphrase',
        ]);
        expect(run).toMatchObject({ code: 0, stderr: '' });
        expect(statSync(p('a.sec')).mode & 0o777).toBe(0o600);
        expect(readFileSync(p('a.pub'), 'utf8')).toMatch(/^untrusted comment: minerhaul public key\nRW/);
        const again = await cli([
          'key',
          'generate',
          '--public',
          p('a2.pub'),
          '--secret',
          p('a.sec'),
          '--no-passphrase',
        ]);
        expect(again.code).toBe(2);
        expect(again.stderr).toMatch(/^error\[E_CONFIG\]: /);
        expect(existsSync(p('a2.pub'))).toBe(false);
      });
    });

    describe('when a passphrase comes from MINERHAUL_PASSPHRASE and --json is set', () => {
      it('prints the key number as JSON and encrypts the key', async () => {
        const run = await cli(
          ['--json', 'key', 'generate', '--public', p('b.pub'), '--secret', p('b.sec'), '--comment', 'ops'],
          { MINERHAUL_PASSPHRASE: 'pw one' },
        );
        expect(run.code).toBe(0);
        const out = JSON.parse(run.stdout) as { keyNumber: string; encrypted: boolean };
        expect(out.encrypted).toBe(true);
        expect(readFileSync(p('b.pub'), 'utf8')).toContain(`untrusted comment: ops public key\n`);
        expect(
          Buffer.from(readFileSync(p('b.pub'), 'utf8').split('\n')[1] ?? '', 'base64')
            .subarray(2, 10)
            .toString('hex'),
        ).toBe(out.keyNumber);
      });
    });

    describe('when no passphrase source exists', () => {
      it('fails with E_KEY', async () => {
        const run = await cli(['key', 'generate', '--public', p('c.pub'), '--secret', p('c.sec')]);
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^error\[E_KEY\]/);
        expect(existsSync(p('c.sec'))).toBe(false);
      });
    });

    describe('when --secret is missing', () => {
      it('fails with E_CONFIG as JSON', async () => {
        const run = await cli(['--json', 'key', 'generate', '--public', p('d.pub')]);
        expect(run.code).toBe(2);
        expect((JSON.parse(run.stderr) as { error: { code: string } }).error.code).toBe('E_CONFIG');
      });
    });
  });

  describe('sign-blob and verify-blob', () => {
    beforeAll(() => {
      writeFileSync(p('regress.sec'), REGRESS.secretKey);
      writeFileSync(p('regress.pub'), REGRESS.publicKey);
      writeFileSync(p('horse.sec'), HORSE.secretKey);
      writeFileSync(p('horse.pub'), HORSE.publicKey);
      writeFileSync(p('orders.txt'), REGRESS.message);
    });

    describe('when signing with the regress key', () => {
      it('writes FILE.sig identical to signify\'s, with "verify with regress.pub"', async () => {
        const run = await cli(['sign-blob', '--key', p('regress.sec'), p('orders.txt')]);
        expect(run).toMatchObject({ code: 0, stderr: '' });
        expect(readFileSync(p('orders.txt.sig'), 'utf8')).toBe(
          sigFile(REGRESS.signatureB64, 'verify with regress.pub'),
        );
      });
    });

    describe('when signing with an encrypted key', () => {
      it('uses MINERHAUL_PASSPHRASE, and fails with E_KEY on a wrong one', async () => {
        const ok = await cli(
          ['--json', 'sign-blob', '--key', p('horse.sec'), '--output', p('h.sig'), p('orders.txt')],
          {
            MINERHAUL_PASSPHRASE: HORSE.passphrase,
          },
        );
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.stdout)).toEqual({
          file: p('orders.txt'),
          signature: p('h.sig'),
          keyNumber: '1b40b12285de14bb',
        });
        const bad = await cli(
          ['sign-blob', '--key', p('horse.sec'), '--output', p('x.sig'), p('orders.txt')],
          {
            MINERHAUL_PASSPHRASE: 'wrong',
          },
        );
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/^error\[E_KEY\]/);
        expect(existsSync(p('x.sig'))).toBe(false);
        const none = await cli([
          'sign-blob',
          '--key',
          p('horse.sec'),
          '--output',
          p('y.sig'),
          p('orders.txt'),
        ]);
        expect(none.stderr).toMatch(/^error\[E_KEY\]/);
        expect(existsSync(p('y.sig'))).toBe(false);
      });
    });

    describe('when verifying with the right key', () => {
      it('prints what verified', async () => {
        const run = await cli(['--json', 'verify-blob', '--key', p('regress.pub'), p('orders.txt')]);
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({
          verified: true,
          threshold: 1,
          validKeyNumbers: [REGRESS.keyNumberHex],
        });
        const human = await cli(['verify-blob', '--key', p('regress.pub'), p('orders.txt')]);
        expect(human.stdout).toContain(REGRESS.keyNumberHex);
      });
    });

    describe('when two keys signed and the threshold is 2', () => {
      /** verify-blob with both keys, threshold 2, the regress signature and `second`. */
      const verifyTwoOfTwo = (second: string): ReturnType<typeof cli> =>
        cli([
          'verify-blob',
          '--key',
          p('regress.pub'),
          '--key',
          p('horse.pub'),
          '--threshold',
          '2',
          '--signature',
          p('orders.txt.sig'),
          '--signature',
          p(second),
          p('orders.txt'),
        ]);
      it('verifies with both signatures and refuses with one', async () => {
        const both = await verifyTwoOfTwo('h.sig');
        expect(both.code).toBe(0);
        // The same signature twice counts once.
        const one = await verifyTwoOfTwo('orders.txt.sig');
        expect(one.code).toBe(1);
        expect(one.stderr).toMatch(/^error\[E_SIGNATURE\]/);
      });
    });

    describe('when the file changed, the key is another one or the signature is missing', () => {
      it('fails with E_SIGNATURE', async () => {
        writeFileSync(p('changed.txt'), 'Attack at dusk!\n');
        const changed = await cli([
          'verify-blob',
          '--key',
          p('regress.pub'),
          '--signature',
          p('orders.txt.sig'),
          p('changed.txt'),
        ]);
        const wrongKey = await cli(['verify-blob', '--key', p('horse.pub'), p('orders.txt')]);
        const missing = await cli([
          'verify-blob',
          '--key',
          p('regress.pub'),
          '--signature',
          p('none.sig'),
          p('orders.txt'),
        ]);
        for (const run of [changed, wrongKey, missing]) {
          expect(run.code).toBe(1);
          expect(run.stderr).toMatch(/^error\[E_SIGNATURE\]/);
        }
      });
    });

    describe('when the arguments are bad', () => {
      it('fails with E_CONFIG or E_KEY', async () => {
        const noKey = await cli(['verify-blob', p('orders.txt')]);
        expect(noKey.stderr).toMatch(/^error\[E_CONFIG\]/);
        const badThreshold = await cli([
          'verify-blob',
          '--key',
          p('regress.pub'),
          '--threshold',
          'two',
          p('orders.txt'),
        ]);
        expect(badThreshold.code).toBe(2);
        expect(badThreshold.stderr).toMatch(/^error\[E_CONFIG\]/);
        const tooHigh = await cli([
          'verify-blob',
          '--key',
          p('regress.pub'),
          '--threshold',
          '2',
          p('orders.txt'),
        ]);
        expect(tooHigh.stderr).toMatch(/^error\[E_CONFIG\]/);
        const badKey = await cli(['--json', 'verify-blob', '--key', p('orders.txt'), p('orders.txt')]);
        expect(badKey.code).toBe(1);
        expect((JSON.parse(badKey.stderr) as { error: { code: string } }).error.code).toBe('E_KEY');
        const noFile = await cli(['sign-blob', '--key', p('regress.sec'), p('absent.txt')]);
        expect(noFile.stderr).toMatch(/^error\[E_CONFIG\]/);
        const garbledKey = await cli(['sign-blob', '--key', p('regress.pub'), p('orders.txt')]);
        expect(garbledKey.stderr).toMatch(/^error\[E_KEY\]/);
      });
    });
  });
});
