import { PassThrough } from 'node:stream';
import { DEFAULT_SERVER_OPTIONS, type FleetServer, createFleetServer, openStore } from '@minerhaul/fleet';
import { type CliIo, main } from '@minerhaul/cli';
import { makeTmpDir } from '../../test/support/tmp-dir';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    stdin: new PassThrough(),
    stdoutIsTty: false,
  };
}

const cli = (args: string[], x = io()) =>
  main(['node', 'minerhaul', ...args], x).then((code) => ({ code, ...x }));

describe('minerhaul fleet', () => {
  describe('simulate', () => {
    const tmp = makeTmpDir('minerhaul-cli-fleet-');
    let fleet: FleetServer;
    let url: string;

    beforeAll(async () => {
      const store = openStore(`sqlite:${tmp.path}/fleet.db`);
      await store.migrate();
      fleet = createFleetServer({
        ...DEFAULT_SERVER_OPTIONS,
        store,
        adminToken: 'cli-test-token-0123456789',
      });
      url = await fleet.listen('127.0.0.1', 0);
    });
    afterAll(async () => {
      await fleet.close();
      tmp.cleanup();
    });

    it('sends signed reports that the server accepts and prints the result as JSON', async () => {
      const r = await cli([
        '--json',
        'fleet',
        'simulate',
        '--url',
        url,
        '--devices',
        '5',
        '--duration',
        '2',
        '--rate',
        '20',
      ]);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.out.join('')) as { devices: number; accepted: number; refused: number };
      expect(result.devices).toBe(5);
      expect(result.accepted).toBeGreaterThan(5);
      expect(result.refused).toBe(0);
    });

    it('stops at --max-reports whatever the duration', async () => {
      const r = await cli([
        '--json',
        'fleet',
        'simulate',
        '--url',
        url,
        '--devices',
        '3',
        '--duration',
        '60',
        '--max-reports',
        '7',
      ]);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.out.join('')) as { sent: number; seconds: number };
      expect(result.sent).toBe(7);
      expect(result.seconds).toBeLessThan(30);
    });

    it.each([
      [['--devices', '0']],
      [['--devices', 'many']],
      [['--devices', '3', '--duration', '99999']],
      [['--devices', '3', '--custom-share', '2']],
    ])('refuses %j with error[E_CONFIG] and exit 2', async (args) => {
      const r = await cli(['fleet', 'simulate', '--url', 'http://127.0.0.1:9', ...args]);
      expect(r.code).toBe(2);
      expect(r.err.join('')).toMatch(/^error\[E_CONFIG\]/);
    });

    it('fails with a code when nothing is accepted (no server there)', async () => {
      const r = await cli([
        '--json',
        'fleet',
        'simulate',
        '--url',
        'http://127.0.0.1:9',
        '--devices',
        '2',
        '--duration',
        '1',
      ]);
      expect(r.code).not.toBe(0);
      expect(JSON.parse(r.err.join('')).error.code).toBe('E_CONFIG');
    });
  });

  describe('serve', () => {
    it.each([
      [['--db', 'mysql://db/fleet']],
      [['--listen', 'not an address']],
      [['--config', '/nonexistent/fleet.json']],
    ])('refuses %j with error[E_CONFIG] before listening', async (args) => {
      const x = io();
      x.env = { MINERHAUL_FLEET_ADMIN_TOKEN: 'cli-test-token-0123456789' };
      const r = await cli(['fleet', 'serve', ...args], x);
      expect(r.code).toBe(2);
      expect(r.err.join('')).toMatch(/^error\[E_CONFIG\]/);
    });
  });
});
