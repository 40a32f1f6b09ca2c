import { Readable } from 'node:stream';
import { main } from '@minerhaul/cli';
import type { CliIo } from '@minerhaul/cli';

function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: {},
    stdin: Readable.from([]),
    stdoutIsTty: false,
  };
  return { io, out: () => out, err: () => err };
}

describe('minerhaul CLI', () => {
  describe('when given an unknown option', () => {
    it('prints error[E_CONFIG] and exits with the usage status', async () => {
      const c = captureIo();
      const code = await main(['node', 'minerhaul', '--bogus'], c.io);
      expect(code).toBe(2);
      expect(c.err()).toMatch(/^error\[E_CONFIG\]: /);
      expect(c.err()).not.toMatch(/\n\s+at /);
    });

    it('prints a JSON error object with --json', async () => {
      const c = captureIo();
      const code = await main(['node', 'minerhaul', '--json', '--bogus'], c.io);
      expect(code).toBe(2);
      expect(JSON.parse(c.err()).error.code).toBe('E_CONFIG');
    });
  });

  describe('when asked for its version', () => {
    it('prints the version of package.json and exits 0', async () => {
      const c = captureIo();
      const code = await main(['node', 'minerhaul', '--version'], c.io);
      expect(code).toBe(0);
      expect(c.out().trim()).toBe(require('../../package.json').version);
    });
  });
});
