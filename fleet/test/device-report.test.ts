import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceReport, generateDeviceKey, validateReport } from '@minerhaul/fleet';
import { makeReport, release } from './report-fixtures';

describe('DeviceReport schema', () => {
  const id = generateDeviceKey().deviceId;

  it('is published unchanged in fleet/schema/report.schema.json', () => {
    const published = JSON.parse(readFileSync(join(__dirname, '..', 'schema', 'report.schema.json'), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(DeviceReport)));
  });

  describe('when the report is well formed', () => {
    it.each([
      ['a plain idle report', {}],
      ['no release yet', { current: null }],
      ['a rollback with its error', { phase: 'rolled-back', lastError: 'E_HEALTH', rollbackCount: 2 }],
      ['an agent too old for the release', { phase: 'failed', lastError: 'E_INCOMPATIBLE' }],
      ['a custom source', { source: { kind: 'custom', ref: 'oci-layout:/media/usb/miner:stable' } }],
      ['a previous release', { previous: release('0.9.0', 0) }],
    ] as const)('accepts %s', (_name, overrides) => {
      const r = validateReport(makeReport(id, overrides as Partial<DeviceReport>));
      expect(r).toEqual({ ok: true, report: expect.objectContaining({ deviceId: id }) });
    });
  });

  describe('when the report is malformed', () => {
    const base = makeReport(id) as unknown as Record<string, unknown>;
    it.each([
      ['an unknown field (a location)', { ...base, location: { lat: 1, lon: 2 } }, ''],
      ['a client address', { ...base, ip: '10.0.0.1' }, ''],
      ['a missing seq', { ...base, seq: undefined }, ''],
      ['a zero seq', { ...base, seq: 0 }, '/seq'],
      ['a fractional seq', { ...base, seq: 1.5 }, '/seq'],
      ['a bad sentAt', { ...base, sentAt: 'yesterday' }, '/sentAt'],
      ['a bad source kind', { ...base, source: { kind: 'mirror', ref: 'x' } }, '/source/kind'],
      ['a bad digest', { ...base, current: { digest: 'md5:00', version: '1', sequence: 1 } }, '/current'],
      ['an unknown phase', { ...base, phase: 'dancing' }, '/phase'],
      ['an unknown error code', { ...base, lastError: 'E_NOPE' }, '/lastError'],
      ['a negative rollback count', { ...base, rollbackCount: -1 }, '/rollbackCount'],
      ['an uppercase device id', { ...base, deviceId: 'ABCDEF0123456789' }, '/deviceId'],
      ['a wrong type', { ...base, type: 'minerhaul.report/v0' }, '/type'],
      ['not an object', [1, 2, 3], ''],
    ])('refuses %s, naming its path', (_name, value, path) => {
      const clean = JSON.parse(JSON.stringify(value));
      const r = validateReport(clean);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.path)).toContain(path);
    });
  });
});
