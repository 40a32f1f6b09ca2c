import { generateDeviceKey, signedReportRequest } from '@minerhaul/fleet';
import { ReportRefusedError } from '../src/errors';
import { type RawReport, verifyRawReport } from '../src/report-intake';
import { makeReport } from './report-fixtures';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const policy = { maxAgeMs: 900_000, maxSkewMs: 300_000 };
const device = generateDeviceKey();

function raw(sentAt: number, receivedAt = NOW): RawReport {
  const { body, headers } = signedReportRequest(device.privateKey, makeReport(device.deviceId, {}, sentAt));
  return {
    body,
    contentType: headers['content-type'],
    deviceKey: headers['x-minerhaul-device-key'],
    signature: headers['x-minerhaul-signature'],
    receivedAt,
  };
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReportRefusedError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('verifyRawReport', () => {
  describe('the clock window (replay rule, part two)', () => {
    it.each([
      ['sent just now', NOW, undefined],
      ['sent at the edge of max age', NOW - 900_000, undefined],
      ['sent one ms too early', NOW - 900_001, 'stale'],
      ['sent at the edge of the allowed skew', NOW + 300_000, undefined],
      ['sent one ms too far ahead', NOW + 300_001, 'stale'],
    ])('a report %s: %s', (_n, sentAt, reason) => {
      expect(reasonOf(() => verifyRawReport(raw(sentAt), policy))).toBe(reason);
    });
  });

  describe('the checks before the database', () => {
    it('returns the verified report bound to the header key', () => {
      const v = verifyRawReport(raw(NOW), policy);
      expect(v).toMatchObject({
        deviceId: device.deviceId,
        publicKey: device.publicKeyBase64,
        receivedAt: NOW,
      });
    });

    it.each([
      ['application/json; charset=utf-8', undefined],
      ['APPLICATION/JSON', undefined],
      ['text/json', 'unsupported-media-type'],
      [undefined, 'unsupported-media-type'],
    ])('content type %s gives %s', (contentType, reason) => {
      expect(reasonOf(() => verifyRawReport({ ...raw(NOW), contentType }, policy))).toBe(reason);
    });

    it('refuses a key off the allow-list before checking the signature', () => {
      const r = { ...raw(NOW), signature: 'AAAA' };
      const allowedKeys = new Set([generateDeviceKey().publicKeyBase64]);
      expect(reasonOf(() => verifyRawReport(r, { ...policy, allowedKeys }))).toBe('not-allowed');
    });

    it('maps every refusal to a 4xx status', () => {
      const e = new ReportRefusedError('stale', 'x');
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(500);
      expect(e.code).toBe('E_EXPIRED');
    });
  });
});
