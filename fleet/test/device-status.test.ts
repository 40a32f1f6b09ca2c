import { deviceStatus } from '@minerhaul/fleet';

describe('deviceStatus', () => {
  it.each([
    ['idle', null, 'ok'],
    ['committed', null, 'ok'],
    ['checking', null, 'ok'],
    ['downloading', null, 'updating'],
    ['staging', null, 'updating'],
    ['swapping', null, 'updating'],
    ['health-check', null, 'updating'],
    ['rolled-back', 'E_HEALTH', 'rolled-back'],
    ['failed', 'E_REGISTRY', 'failing'],
    ['failed', null, 'failing'],
    ['idle', 'E_INCOMPATIBLE', 'failing'],
    ['checking', 'E_TLS', 'failing'],
  ] as const)('maps phase %s with error %s to %s', (phase, lastError, expected) => {
    expect(deviceStatus({ phase, lastError })).toBe(expected);
  });
});
