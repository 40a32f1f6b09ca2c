import { createHash } from 'node:crypto';
import { bcryptPbkdf, decryptSecretKey, parsePublicKey, secretKeyNeedsPassphrase } from '@minerhaul/signing';
import { codeOf, HORSE, REGRESS } from './vectors';

describe('bcryptPbkdf', () => {
  describe('when applied to the "correct horse" key of protocol-reference §4.6', () => {
    it('returns the keystream that decrypts the key made by signify-openbsd', () => {
      const data = Buffer.from(HORSE.secretKey.split('\n')[1] ?? '', 'base64');
      expect(data.readUInt32BE(4)).toBe(42);
      const salt = data.subarray(8, 24);
      const keystream = bcryptPbkdf(Buffer.from(HORSE.passphrase), salt, 42, 64);
      const secret = Buffer.alloc(64);
      for (let i = 0; i < 64; i++) secret[i] = (data[40 + i] ?? 0) ^ (keystream[i] ?? 0);
      // signify's checksum: first 8 bytes of SHA-512 of the plaintext secret (§4.3).
      expect(createHash('sha512').update(secret).digest().subarray(0, 8)).toEqual(data.subarray(24, 32));
      expect(secret.subarray(32)).toEqual(parsePublicKey(HORSE.publicKey).key);
    });
  });

  describe('when the upstream regress key (rounds = 0) is read', () => {
    it('returns the key without any KDF, as signify does', () => {
      expect(secretKeyNeedsPassphrase(REGRESS.secretKey)).toBe(false);
      const key = decryptSecretKey(REGRESS.secretKey);
      expect(key.publicKey).toEqual(parsePublicKey(REGRESS.publicKey).key);
      expect(key.keyNumberHex).toBe(REGRESS.keyNumberHex);
    });
  });

  describe('when given rounds below 1 or an empty passphrase', () => {
    it('refuses with E_KEY', () => {
      expect(codeOf(() => bcryptPbkdf(Buffer.from('x'), Buffer.alloc(16), 0, 64))).toBe('E_KEY');
      expect(codeOf(() => bcryptPbkdf(Buffer.alloc(0), Buffer.alloc(16), 1, 64))).toBe('E_KEY');
    });
  });

  describe('when the output length changes', () => {
    it('returns a different stride-interleaved output, not a prefix', () => {
      const salt = Buffer.alloc(16, 7);
      const long = bcryptPbkdf(Buffer.from('pw'), salt, 1, 64);
      const short = bcryptPbkdf(Buffer.from('pw'), salt, 1, 32);
      expect(long.length).toBe(64);
      expect(short.equals(long.subarray(0, 32))).toBe(false);
    });
  });
});
