import { openStore } from '@minerhaul/registry-tools';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { startTokenServer, type TokenServer } from '../../../test/support/token-server';
import { codeOf, makeImage, pushImage, readAll } from '../client/test-image';

const noDockerConfig = { dockerConfigPath: '/nonexistent/docker-config.json' };

describe('registry client with Bearer token auth', () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;

  beforeAll(async () => {
    tokens = await startTokenServer({ users: { maint: 'right-pass' }, anonymousPull: true });
    registry = await startRegistry({ auth: 'token', token: tokens });
  });
  afterAll(async () => {
    await registry.stop();
    await tokens.stop();
  });

  describe('when the maintainer has credentials', () => {
    it('gets tokens from the realm, pushes and pulls, and caches one token per scope set', async () => {
      const store = openStore(`${registry.host}/team/miner`, {
        ...noDockerConfig,
        credentials: { username: 'maint', password: 'right-pass' },
      });
      const image = makeImage({ f: 'bearer' });
      tokens.requests.length = 0;
      await pushImage(store, image, 'v1');
      expect((await store.resolve('v1'))?.digest).toBe(image.descriptor.digest);
      const layer = image.blobs[1]!;
      expect((await readAll(await store.openBlob(layer.descriptor))).equals(layer.bytes)).toBe(true);
      // One token for pull (first HEAD) and one for pull,push; every later request reuses them.
      const scopeSets = tokens.requests.map((r) => r.scopes.join(' '));
      expect(new Set(scopeSets).size).toBe(scopeSets.length);
      expect(scopeSets).toContain('repository:team/miner:pull,push');
      expect(tokens.requests.every((r) => r.account === 'maint')).toBe(true);
    });
  });

  describe('when the caller is anonymous', () => {
    it('pulls with an anonymous token but cannot push (E_AUTH)', async () => {
      const store = openStore(`${registry.host}/team/miner`, noDockerConfig);
      expect(await store.resolve('v1')).toBeDefined();
      expect(tokens.requests.some((r) => r.account === undefined && r.status === 200)).toBe(true);
      expect(await codeOf(pushImage(store, makeImage({ g: 'anon' }), 'anon'))).toBe('E_AUTH');
    });
  });

  describe('when the password is wrong', () => {
    it('refuses with E_AUTH', async () => {
      const store = openStore(`${registry.host}/team/miner`, {
        ...noDockerConfig,
        credentials: { username: 'maint', password: 'wrong' },
      });
      expect(await codeOf(store.resolve('v1'))).toBe('E_AUTH');
    });
  });
});
