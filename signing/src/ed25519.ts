import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

// Raw Ed25519 through node:crypto (protocol-reference §4.6): keys are imported from DER with
// fixed prefixes, so no third-party curve code is needed.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

export function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function privateKeyObject(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The public key that belongs to a 32-byte seed. */
export function publicFromSeed(seed: Buffer): Buffer {
  const der = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length);
}

export function generateSeed(): { seed: Buffer; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { seed: pkcs8.subarray(PKCS8_PREFIX.length), publicKey: spki.subarray(SPKI_PREFIX.length) };
}

/** Pure Ed25519 (RFC 8032 §5.1.6) over the whole message: deterministic, so equal to signify's. */
export function ed25519Sign(seed: Buffer, message: Buffer): Buffer {
  return sign(null, message, privateKeyObject(seed));
}

export function ed25519Verify(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    // A public key that is not a curve point makes OpenSSL throw: that is just "not valid".
    return false;
  }
}
