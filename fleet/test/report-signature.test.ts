import { generateKeyPairSync } from 'node:crypto';
import {
  DEVICE_KEY_HEADER,
  SIGNATURE_HEADER,
  deviceIdFromPublicKey,
  generateDeviceKey,
  publicKeyBase64,
  publicKeyFromBase64,
  signReport,
  signedReportRequest,
  verifyReportSignature,
} from '@minerhaul/fleet';
import { isMinerhaulError } from '@minerhaul/signing';

describe('report signatures', () => {
  const device = generateDeviceKey();

  describe('when a report is signed', () => {
    it('verifies with the device key over the exact bytes', () => {
      const body = Buffer.from('{"a":1}');
      const sig = signReport(device.privateKey, body);
      expect(verifyReportSignature(device.publicKey, body, sig)).toBe(true);
    });

    it('refuses a body changed by one byte', () => {
      const sig = signReport(device.privateKey, '{"a":1}');
      expect(verifyReportSignature(device.publicKey, Buffer.from('{"a":2}'), sig)).toBe(false);
    });

    it('refuses another key and a truncated signature', () => {
      const body = Buffer.from('{}');
      const sig = signReport(device.privateKey, body);
      expect(verifyReportSignature(generateDeviceKey().publicKey, body, sig)).toBe(false);
      expect(verifyReportSignature(device.publicKey, body, sig.slice(0, 20))).toBe(false);
    });

    it('builds the request headers a sender needs', () => {
      const { body, headers } = signedReportRequest(device.privateKey, { hello: 'fleet' });
      expect(headers[DEVICE_KEY_HEADER]).toBe(device.publicKeyBase64);
      const sig = headers[SIGNATURE_HEADER];
      expect(sig).toBeDefined();
      expect(verifyReportSignature(device.publicKey, body, sig ?? '')).toBe(true);
    });
  });

  describe('device keys and ids', () => {
    it('round-trips the raw 32-byte public key', () => {
      expect(Buffer.from(device.publicKeyBase64, 'base64')).toHaveLength(32);
      expect(publicKeyBase64(publicKeyFromBase64(device.publicKeyBase64))).toBe(device.publicKeyBase64);
    });

    it('derives a stable 32-hex id from the key alone', () => {
      expect(device.deviceId).toMatch(/^[a-f0-9]{32}$/);
      expect(deviceIdFromPublicKey(device.publicKey)).toBe(device.deviceId);
      expect(deviceIdFromPublicKey(device.publicKeyBase64)).toBe(device.deviceId);
      expect(generateDeviceKey().deviceId).not.toBe(device.deviceId);
    });

    it.each([
      ['too short', Buffer.alloc(31).toString('base64')],
      ['too long', Buffer.alloc(33).toString('base64')],
      ['not base64', '!!!!'],
      ['non-canonical base64', device.publicKeyBase64.replace(/=$/, '')],
    ])('refuses a key that is %s with E_KEY', (_n, value) => {
      let caught: unknown;
      try {
        publicKeyFromBase64(value);
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, 'E_KEY')).toBe(true);
    });

    it('reads keys made by node:crypto directly', () => {
      const { publicKey } = generateKeyPairSync('ed25519');
      expect(publicKeyFromBase64(publicKeyBase64(publicKey)).equals(publicKey)).toBe(true);
    });
  });
});
