import {
  decryptSecretKey,
  generateKeyPair,
  parsePublicKey,
  type PublicKey,
  type SecretKey,
} from '@minerhaul/signing';

/** Unencrypted fresh keys (no KDF cost) for tests that need several signers. */
export function freshKeys(count: number): { pub: PublicKey; sec: SecretKey }[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = generateKeyPair({ comment: `test${i}` });
    return { pub: parsePublicKey(pair.publicKey), sec: decryptSecretKey(pair.secretKey) };
  });
}
