import { planConfigPatch, redactConfig } from '@minerhaul/hotspot-agent';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { baseConfig } from './helpers/agent-fixtures';

describe('planConfigPatch', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const current = baseConfig(tmp.path, { schedule: { cron: '*/15 * * * *' } });

  describe('when only the schedule changes', () => {
    it('returns a plan that needs no owner signature', () => {
      const plan = planConfigPatch(current, { schedule: { cron: '0 * * * *', jitterSeconds: 60 } });
      expect(plan.changed).toEqual(['schedule']);
      expect(plan.needsOwnerSignature).toBe(false);
      expect(plan.next.schedule).toEqual({ cron: '0 * * * *', jitterSeconds: 60 });
    });
  });

  describe('when source, TLS or trust change', () => {
    it.each([
      ['source', { source: { ref: '127.0.0.1:5001/me/miner:stable' } }],
      ['TLS settings', { defaultSource: { ...current.defaultSource, pinnedCert: '/etc/pin.pem' } }],
      ['trust', { trust: { keys: [...current.trust.keys, ...current.trust.keys] } }],
      ['the owner keys', { api: { ownerKeys: [] } }],
      ['the fleet', { fleet: { url: 'http://127.0.0.1:9/' } }],
    ])('returns a plan that needs an owner signature (%s)', (_what, patch) => {
      expect(planConfigPatch(current, patch).needsOwnerSignature).toBe(true);
    });
  });

  describe('when a value does not change', () => {
    it('returns no change and needs no signature', () => {
      const plan = planConfigPatch(current, { trust: current.trust });
      expect(plan.changed).toEqual([]);
      expect(plan.needsOwnerSignature).toBe(false);
    });
  });

  describe('when source is set to null', () => {
    it('returns a config without source (the default source applies again)', () => {
      const custom = { ...current, source: { ref: '127.0.0.1:5001/me/miner:stable' } };
      const plan = planConfigPatch(custom, { source: null });
      expect(plan.next.source).toBeUndefined();
      expect(plan.needsOwnerSignature).toBe(true);
    });
  });

  describe('when the patch is not acceptable', () => {
    it.each([
      ['not an object', ['source']],
      ['null', null],
      ['changing the state directory', { stateDir: '/tmp/elsewhere' }],
      ['changing the device key path', { deviceKey: '/tmp/key' }],
      ['removing trust', { trust: null }],
      ['an unknown key', { sauce: 1 }],
      ['an invalid value', { schedule: { jitterSeconds: 'soon' } }],
    ])('refuses %s with E_CONFIG', (_what, patch) => {
      expect(() => planConfigPatch(current, patch)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    });
  });
});

describe('redactConfig', () => {
  it('returns the config without miner environment values or secret-looking fields', () => {
    const tmp = makeTmpDir();
    const config = baseConfig(tmp.path, {
      runtime: { kind: 'docker', env: { WALLET_TOKEN: 's3cr3t' }, registryPassword: 'hunter2' },
    });
    tmp.cleanup();
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('WALLET_TOKEN');
    expect(text).toContain(config.stateDir);
  });
});
