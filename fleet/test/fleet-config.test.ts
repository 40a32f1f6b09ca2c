import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFleetConfig, generateDeviceKey, loadFleetConfig, parseListen } from '@minerhaul/fleet';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { resolveAdminToken, serverOptionsFromConfig } from '../src/fleet-config';

const tmp = makeTmpDir('minerhaul-fleet-config-');
afterAll(() => tmp.cleanup());

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    [':9000', { host: '127.0.0.1', port: 9000 }],
    ['9000', { host: '127.0.0.1', port: 9000 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['fleet.local:0', { host: 'fleet.local', port: 0 }],
  ])('reads %s', (addr, expected) => {
    expect(parseListen(addr)).toEqual(expected);
  });

  it.each(['', 'host:', 'host:99999', 'http://x:1', 'a b:1'])('refuses %j with E_CONFIG', (addr) => {
    expect(code(() => parseListen(addr))).toBe('E_CONFIG');
  });
});

describe('fleet config', () => {
  describe('when the file is valid', () => {
    it('merges it with the defaults and reads the allow-list file', () => {
      const k = generateDeviceKey().publicKeyBase64;
      const list = join(tmp.path, 'allow.txt');
      writeFileSync(list, `# gateways of site A\n${k}\n\n`);
      const path = join(tmp.path, 'fleet.json');
      writeFileSync(path, JSON.stringify({ retentionDays: 30, allowListFile: list }));
      const o = serverOptionsFromConfig(loadFleetConfig(path));
      expect(o.retentionDays).toBe(30);
      expect(o.reportIntervalSeconds).toBe(3600);
      expect(o.allowedKeys).toEqual([k]);
    });

    it('uses trust on first use when no allow-list is given', () => {
      expect(serverOptionsFromConfig({}).allowedKeys).toBeUndefined();
    });
  });

  describe('when the file is not valid', () => {
    it.each([
      ['an unknown field', { retention: 3 }],
      ['a zero retention', { retentionDays: 0 }],
      ['a tiny report limit', { maxReportBytes: 10 }],
      ['a non-integer interval', { reportIntervalSeconds: 1.5 }],
      ['not an object', [1]],
    ])('refuses %s with E_CONFIG', (_n, value) => {
      expect(code(() => checkFleetConfig(value))).toBe('E_CONFIG');
    });

    it('refuses unreadable JSON and a bad allow-list key with E_CONFIG', () => {
      const path = join(tmp.path, 'broken.json');
      writeFileSync(path, '{ nope');
      expect(code(() => loadFleetConfig(path))).toBe('E_CONFIG');
      expect(code(() => loadFleetConfig(join(tmp.path, 'missing.json')))).toBe('E_CONFIG');
      expect(code(() => serverOptionsFromConfig({ allowedKeys: ['not-a-key'] }))).toBe('E_CONFIG');
      expect(code(() => serverOptionsFromConfig({ allowListFile: join(tmp.path, 'none.txt') }))).toBe(
        'E_CONFIG',
      );
    });
  });

  describe('admin token', () => {
    it('comes from the environment first, then the token file', () => {
      const file = join(tmp.path, 'token');
      writeFileSync(file, 'file-token-0123456789abcdef\n');
      expect(
        resolveAdminToken({ adminTokenFile: file }, { MINERHAUL_FLEET_ADMIN_TOKEN: 'env-token-0123456789' }),
      ).toEqual({ token: 'env-token-0123456789', generated: false });
      expect(resolveAdminToken({ adminTokenFile: file }, {})).toEqual({
        token: 'file-token-0123456789abcdef',
        generated: false,
      });
    });

    it('is generated (and flagged so) when none is configured', () => {
      const a = resolveAdminToken({}, {});
      expect(a.generated).toBe(true);
      expect(a.token.length).toBeGreaterThanOrEqual(32);
      expect(resolveAdminToken({}, {}).token).not.toBe(a.token);
    });

    it('refuses a short token and a missing token file with E_CONFIG', () => {
      expect(code(() => resolveAdminToken({}, { MINERHAUL_FLEET_ADMIN_TOKEN: 'short' }))).toBe('E_CONFIG');
      expect(code(() => resolveAdminToken({ adminTokenFile: join(tmp.path, 'nope') }, {}))).toBe('E_CONFIG');
    });
  });
});
