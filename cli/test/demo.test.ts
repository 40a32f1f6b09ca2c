import { Readable } from 'node:stream';
import { main } from '@minerhaul/cli';

describe('minerhaul demo', () => {
  describe('when run with --json', () => {
    it('reports every step of the signing round trip as passed, the tampered file refused', async () => {
      let out = '';
      const code = await main(['node', 'minerhaul', '--json', 'demo'], {
        stdout: (t) => {
          out += t;
        },
        stderr: () => undefined,
        env: {},
        stdin: Readable.from([]),
        stdoutIsTty: false,
      });
      expect(code).toBe(0);
      const { steps } = JSON.parse(out) as { steps: Array<{ step: string; ok: boolean }> };
      expect(steps.map((s) => s.step)).toEqual([
        'key generate',
        'sign-blob',
        'verify-blob',
        'tampered file refused',
      ]);
      expect(steps.every((s) => s.ok)).toBe(true);
    });
  });
});
