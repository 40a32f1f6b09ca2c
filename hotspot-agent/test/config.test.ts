import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONFIG_SCHEMA_PATH,
  effectiveSource,
  loadAgentConfig,
  parseAgentConfig,
  validateAgentConfig,
} from '@minerhaul/hotspot-agent';
import { isMinerhaulError } from '@minerhaul/signing';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { baseConfig, writeConfig } from './helpers/agent-fixtures';

function configErrors(value: unknown): string[] {
  try {
    validateAgentConfig(value);
  } catch (err) {
    if (isMinerhaulError(err, 'E_CONFIG')) return err.details?.errors as string[];
    throw err;
  }
  throw new Error('config was accepted');
}

describe('agent config', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const good = baseConfig(tmp.path);

  describe('when the config is valid', () => {
    it('returns it unchanged', () => {
      expect(validateAgentConfig(good)).toEqual(good);
    });

    it.each(['7373', ':7373', '127.0.0.1:7373', '[::1]:7373'])('accepts api.listen %s', (listen) => {
      expect(validateAgentConfig({ ...good, api: { listen } }).api?.listen).toBe(listen);
    });

    it('uses defaultSource while no source is set, and source once set (HIP3)', () => {
      expect(effectiveSource(good)).toEqual({ kind: 'default', source: good.defaultSource });
      const custom = { ...good, source: { ref: 'example.org/me/miner:beta' } };
      expect(effectiveSource(custom)).toEqual({ kind: 'custom', source: custom.source });
    });
  });

  describe('when the config is invalid', () => {
    it.each([
      ['a missing stateDir', { ...good, stateDir: undefined }, "/: missing required property 'stateDir'"],
      ['an unknown runtime kind', { ...good, runtime: { kind: 'podman' } }, '/runtime/kind: must be one of'],
      ['an unknown top-level key', { ...good, sorce: { ref: 'x' } }, "/: unknown property 'sorce'"],
      [
        'a source without ref',
        { ...good, source: { channel: 'beta' } },
        "/source: missing required property 'ref'",
      ],
      [
        'a non-boolean insecure',
        { ...good, source: { ref: 'a/b:c', insecure: 'yes' } },
        '/source/insecure: must be boolean',
      ],
      [
        'an empty trust key list',
        { ...good, trust: { keys: [] } },
        '/trust/keys: must NOT have fewer than 1 items',
      ],
      [
        'a threshold above the keys',
        { ...good, trust: { ...good.trust, threshold: 2 } },
        '/trust/threshold: must be at most',
      ],
      [
        'a negative jitter',
        { ...good, schedule: { jitterSeconds: -1 } },
        '/schedule/jitterSeconds: must be >= 0',
      ],
      [
        'a fleet URL that is not http(s)',
        { ...good, fleet: { url: 'ftp://x' } },
        '/fleet/url: must match pattern',
      ],
      [
        'an api listen without port',
        { ...good, api: { listen: '127.0.0.1' } },
        '/api/listen: must match pattern',
      ],
      [
        'an api port above 65535',
        { ...good, api: { listen: '127.0.0.1:70000' } },
        '/api/listen: port must be at most',
      ],
      [
        'an http health check without url',
        { ...good, health: { kind: 'http' } },
        "/health: missing required property 'url'",
      ],
      [
        'an exec health check without command',
        { ...good, health: { kind: 'exec' } },
        "/health: missing required property 'command'",
      ],
      [
        'a docker health check on bubblewrap',
        { ...good, health: { kind: 'docker' } },
        "/health/kind: 'docker' needs",
      ],
      [
        'neither source nor defaultSource',
        { ...good, defaultSource: undefined },
        "/: needs 'source' or 'defaultSource'",
      ],
      ['a string where an object belongs', { ...good, trust: 'key.pub' }, '/trust: must be object'],
    ])('refuses %s with E_CONFIG naming the JSON path', (_what, value, expected) => {
      const errors = configErrors(JSON.parse(JSON.stringify(value)));
      expect(errors.some((e) => e.startsWith(expected))).toBe(true);
    });

    it('reports every failure at once (allErrors)', () => {
      const errors = configErrors({ ...good, runtime: { kind: 'x' }, schedule: { jitterSeconds: 'a' } });
      expect(errors.length).toBeGreaterThanOrEqual(2);
    });

    it('refuses malformed JSON with E_CONFIG', () => {
      expect(() => parseAgentConfig('{"stateDir": ')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    });

    it('refuses a config file that does not exist with E_CONFIG', async () => {
      await expect(loadAgentConfig(join(tmp.path, 'nope.json'))).rejects.toMatchObject({ code: 'E_CONFIG' });
    });
  });

  describe('when paths are relative', () => {
    it('returns them resolved against the config file directory, leaving key lines alone', async () => {
      const keyLine = good.trust.keys[0] as string;
      const path = writeConfig(tmp.path, {
        ...good,
        stateDir: 'state',
        source: { ref: 'oci-layout:bundle:stable', caCert: 'ca.pem' },
        trust: { keys: [keyLine, 'keys/maintainer.pub'] },
        lock: { path: 'data/update.lock' },
      });
      const config = await loadAgentConfig(path);
      expect(config.stateDir).toBe(join(tmp.path, 'state'));
      expect(config.source?.ref).toBe(`oci-layout:${join(tmp.path, 'bundle:stable')}`);
      expect(config.source?.caCert).toBe(join(tmp.path, 'ca.pem'));
      expect(config.trust.keys).toEqual([keyLine, join(tmp.path, 'keys/maintainer.pub')]);
      expect(config.lock?.path).toBe(join(tmp.path, 'data/update.lock'));
    });
  });

  describe('the published schema', () => {
    it('is the file the precompiled validator is generated from (test/generated-validators.test.ts)', () => {
      expect(JSON.parse(readFileSync(CONFIG_SCHEMA_PATH, 'utf8')).$id).toBe(
        'minerhaul:hotspot-agent/config/v1',
      );
    });
  });
});
