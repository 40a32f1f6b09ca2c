import { checkAgentVersion } from '@minerhaul/updater';

describe('checkAgentVersion', () => {
  it.each([
    [undefined, '0.1.0'],
    ['0.1.0', '0.1.0'],
    ['0.1.0-rc.1', '0.1.0'],
    ['1.9.9', '1.10.0'],
  ])('accepts minAgentVersion %s on agent %s', (min, agent) => {
    expect(() => checkAgentVersion(min, agent)).not.toThrow();
  });

  it.each([
    ['0.2.0', '0.1.0'],
    ['1.10.0', '1.9.9'],
    ['1.0.0', '1.0.0-rc.1'],
  ])('refuses minAgentVersion %s on agent %s with E_INCOMPATIBLE', (min, agent) => {
    expect(() => checkAgentVersion(min, agent)).toThrow(expect.objectContaining({ code: 'E_INCOMPATIBLE' }));
  });

  it('refuses a minAgentVersion that is not semver with E_STATEMENT', () => {
    expect(() => checkAgentVersion('1.0', '1.0.0')).toThrow(expect.objectContaining({ code: 'E_STATEMENT' }));
  });
});
